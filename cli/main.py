"""`snnc`: compile, run, verify, inspect, report and zoo (DESIGN §8).

Errors are one line on stderr and a non-zero exit; `--debug` shows the traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from snnc.cli import commands
from snnc.cli.nir_options import add_nir_options
from snnc.compiler.errors import SnncError

TARGET_NAMES = ["numpy", "onnx", "loihi", "nir", "cpu"]


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's default must not undo `snnc --debug COMMAND`
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback on errors")
    p.add_argument("--limit", action="append", metavar="NAME=VALUE", default=argparse.SUPPRESS,
                   help="raise or lower a resource limit (array_bytes, decompressed_bytes, zip_ratio, json_bytes, json_depth, "
                        "neurons, delay; check_decays=0 accepts float decays outside (0, 1] and time constants <= 0); "
                        "also SNNC_MAX_<NAME>")
    return p


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="an .snn graph, a .nir file, an snnc model file (.pt, from `snnc zoo` or save_model), "
                                 "or a PyTorch factory 'package.module:factory'")
    p.add_argument("--weights", help="state_dict file for a 'package.module:factory' model (loaded with weights_only=True)")
    p.add_argument("--input-size", type=int, help="input features F, when snnc cannot infer them from the model")
    p.add_argument("--allow-pickle", action="store_true",
                   help="allow unpickling arbitrary objects from model files (only for files you trust)")
    add_nir_options(p)
    p.add_argument("--input-kind", metavar="KIND|NAME=KIND,...",
                   help="graph input kinds: spike (values 0/1) or graded (any real), for all inputs or by name; "
                        "default: as recorded in the model, else inferred from the data given, else graded")
    p.add_argument("--input-range", metavar="LO,HI|NAME=LO,HI;...",
                   help="value range of graded inputs (write --input-range=-1,1 for a negative LO); quantize loihi "
                        "encodes inputs from it without --calib; default: as recorded in the model, else the data's")


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    ap = argparse.ArgumentParser(prog="snnc", parents=[common],
                                 description="Compiler for spiking and rank-coded recurrent networks: "
                                             "PyTorch -> neuron-graph IR -> NumPy, ONNX, Lava/Loihi.")
    from snnc import __version__
    ap.add_argument("--version", action="version", version=f"snnc {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("compile", parents=[common], help="compile a model for a target",
                       description="Trace (if needed), run passes and lower MODEL to a target artifact.")
    _model_options(p)
    p.add_argument("-t", "--target", required=True, help=f"one of {', '.join(TARGET_NAMES)}")
    p.add_argument("-o", "--output", required=True, help="artifact to write (.snn for numpy, .onnx for onnx, a directory for loihi)")
    p.add_argument("--quantize", help="quantization scheme: loihi, int8 or float16")
    p.add_argument("--calib", help="calibration input .npy [T, B, F] for quantize and activity-weighted partition")
    p.add_argument("--labels", help="labels .npy for the quantization accuracy report ([B] or [T, B], or one-hot)")
    p.add_argument("--label-output", help="the graph output the --labels accuracy scores (default: the first output)")
    p.add_argument("--skip-steps", type=int, default=0, help="warm-up steps the --labels accuracy does not score (default 0)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="precision the model is traced and the artifact runs in (recorded in the artifact; default float32)")
    p.add_argument("--passes", help="comma-separated passes after quantize, e.g. fuse,partition")
    p.add_argument("--hardware", help="hardware for partition: loihi1, loihi2 or a JSON file")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    p.add_argument("--onnx-mode", choices=["loop", "step"], default="loop",
                   help="onnx: whole sequence in one Loop (default) or a single-step streaming model")
    p.set_defaults(fn=commands.cmd_compile)

    p = sub.add_parser("run", parents=[common], help="run a compiled artifact on an input",
                       description="Run ARTIFACT on an input [T, B, F] .npy; write the outputs.")
    p.add_argument("artifact", help="an .snn graph, an .onnx model, a Lava network directory or a .nir file")
    add_nir_options(p)
    p.add_argument("--input", required=True,
                   help="input .npy [T, B, F], or an .npz with one array per graph input (e.g. noise inputs) by name")
    p.add_argument("-o", "--output", help="outputs: .npy for one output, .npz for several")
    p.add_argument("--activity", help="also write the activity record (.npz)")
    p.add_argument("--record", metavar="NODE[.STATE],...",
                   help="record node outputs or states (e.g. layer1.alif,readout.alif.v) as [T, B, n] traces")
    p.add_argument("--traces", help="the .npz the --record traces go to (default: traces.npz)")
    p.add_argument("--raw", action="store_true",
                   help="keep the integers of a Loihi-quantized model (default: outputs and traces dequantized to float)")
    p.add_argument("--dtype", choices=["float32", "float64"], help="numpy runtime precision (default: the artifact's, "
                                                                   "as given to snnc compile --dtype)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds before a Lava run is stopped (default 600)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise drawn for stochastic neurons whose "
                                                      "noise inputs are not given (default 0)")
    p.set_defaults(fn=commands.cmd_run)

    p = sub.add_parser("verify", parents=[common], help="check that targets agree with the reference graph and PyTorch",
                       description="Run every target and the reference graph (NumPy runtime; and the PyTorch model when "
                                   "there is one) on one input or a data set and print agreement and accuracy; exits 1 "
                                   "when a target is outside tolerance or cannot run the graph.")
    _model_options(p)
    from snnc.cli import verify as verify_cmd
    verify_cmd.add_arguments(p)
    p.set_defaults(fn=verify_cmd.run)

    p = sub.add_parser("inspect", parents=[common], help="print an artifact or model as text or DOT",
                       description="Print the graph (nodes, parameters, edges, pass reports) of an artifact or model.")
    p.add_argument("artifact", help="an .snn graph, .onnx model, Lava directory, or a PyTorch model")
    p.add_argument("--dot", action="store_true", help="print Graphviz DOT instead of text")
    add_nir_options(p)
    p.add_argument("--weights", help=argparse.SUPPRESS)
    p.add_argument("--input-size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--allow-pickle", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(fn=commands.cmd_inspect)

    p = sub.add_parser("zoo", parents=[common], help="write a reference model of a seed family",
                       description="Write a reference model (random weights, seeded) as an snnc model file.")
    p.add_argument("name", nargs="?", help="zoo model name (see --list)")
    p.add_argument("-o", "--output", help="model file to write (.pt)")
    p.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default 0)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config option (JSON value), repeatable")
    p.add_argument("--list", action="store_true", help="list the zoo models")
    p.add_argument("--pretrained", action="store_true", help="write the trained fixture NAME instead of random weights")
    p.add_argument("--dataset", choices=["train", "test"],
                   help="write the fixture's data split as an .npz (x [T, N, F], y [N] or [T, N]) for verify --dataset")
    p.set_defaults(fn=commands.cmd_zoo)

    p = sub.add_parser("report", parents=[common], help="op counts and energy of an artifact on an input",
                       description="Op counts (measured from activity) and energy estimates of ARTIFACT.")
    try:
        report = importlib.import_module("snnc.cli.report")
    except ModuleNotFoundError as e:
        if e.name != "snnc.cli.report":
            raise
        report = None
    if report is not None:
        report.add_arguments(p)
        p.set_defaults(fn=report.run)
    else:
        p.set_defaults(fn=lambda a: (_ for _ in ()).throw(SnncError("report is not available in this build")))
    for p in [ap, *sub.choices.values()]:  # no option may stand for a longer one (--dt is not --dtype)
        p.allow_abbrev = False
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    args.debug = getattr(args, "debug", False)
    if not args.debug:  # warnings (e.g. which seed drew missing noise) as one plain line, not Python's format
        import warnings
        warnings.showwarning = lambda msg, cat, *a, **k: print(f"snnc: warning: {msg}", file=sys.stderr)
    if not getattr(args, "fn", None):
        ap.print_help(sys.stderr)
        return 2
    try:
        from snnc.compiler import limits
        limits.reset()
        for spec in getattr(args, "limit", None) or []:
            limits.set_limit(spec)
        return int(args.fn(args) or 0)
    except SnncError as e:
        if args.debug:
            raise
        msg = str(e)
        if len(msg.splitlines()) > 1:  # a key or node name from a file may hold a line break: escape, one line
            msg = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in msg)
        print(f"snnc: error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("snnc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `snnc inspect m.onnx | head`: the reader left, not an error of ours
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except MemoryError:  # a resource limit set too high for this machine, not a bug
        if args.debug:
            raise
        print("snnc: error: out of memory (lower the --limit values or give a smaller model or input)", file=sys.stderr)
        return 1
    except Exception as e:  # a bug in snnc: still one line, the traceback on request
        if args.debug:
            raise
        print(f"snnc: internal error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
              "(rerun with --debug for the traceback)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
