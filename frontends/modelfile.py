"""Self-describing snnc model files (.pt) and loading of user models given as `package.module:factory`.

A model file is a plain dict {format, version, arch, config, state_dict, checksum}
that `torch.load(..., weights_only=True)` reads without unpickling any code.
torch does not check the zip CRC, so `checksum` (sha256 of arch, config and
every tensor's name, dtype, shape and bytes) catches flipped bytes; the config
is checked against the stored weight shapes on the meta device before the
model is built, so a small file cannot ask for a huge model.
"""
from __future__ import annotations

import importlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from snnc.compiler import limits
from snnc.compiler.errors import FileFormatError, SnncError
from snnc.compiler.files import atomic_path
from snnc.compiler.schema import check_version
from snnc.frontends import zoo

FORMAT, VERSION = "snnc-model", 2  # 2: with checksum


@dataclass
class LoadedModel:
    """A PyTorch model ready to trace: the module and its input feature size."""

    module: nn.Module
    input_size: int
    name: str
    input_kind: str | None = None  # "spike" or "graded" when the model file records it
    input_range: tuple[float, float] | None = None  # [lo, hi] of a graded input when the model file records it


def save_model(path: str | os.PathLike, arch: str, config: dict[str, Any], module: nn.Module,
               input_kind: str | None = None, input_range: tuple[float, float] | None = None) -> None:
    """Write a self-describing model file atomically; `input_kind` ("spike" or "graded") and a graded input's value
    range `input_range` (lo, hi) are recorded when given."""
    sd = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    doc = {"format": FORMAT, "version": VERSION, "arch": arch, "config": config, "state_dict": sd,
           "checksum": checksum(arch, config, sd)}
    if input_kind is not None:
        if input_kind not in ("spike", "graded"):
            raise SnncError(f"save_model: input_kind must be 'spike' or 'graded', got {input_kind!r}")
        doc["input_kind"] = input_kind
    if input_range is not None:
        doc["input_range"] = _check_range(input_range, "save_model: input_range")
    import io
    buf = io.BytesIO()
    torch.save(doc, buf)  # into memory first: the archive is named after the file, not the temp name
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def _check_range(r: Any, where: str) -> list[float]:
    """[lo, hi] as floats with finite lo < hi, else FileFormatError naming `where`."""
    import math
    ok = isinstance(r, (list, tuple)) and len(r) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                               and math.isfinite(v) for v in r) and r[0] < r[1]
    if not ok:
        raise FileFormatError(f"{where} must be [lo, hi] with finite lo < hi, got {str(r)[:80]}")
    return [float(r[0]), float(r[1])]


def checksum(arch: str, config: Any, sd: dict) -> str:
    """sha256 over the architecture, the config (as JSON) and each tensor's name, dtype, shape and bytes."""
    import hashlib
    import json

    h = hashlib.sha256(json.dumps([arch, config], sort_keys=True, default=str).encode())
    for k in sorted(sd):
        t = sd[k].detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _torch_load(path: Path, allow_pickle: bool) -> Any:
    if not path.exists():
        raise FileFormatError(f"{path}: no such file")
    if path.is_dir():
        raise FileFormatError(f"{path}: is a directory, not a model file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FileFormatError(f"{path}: cannot read ({e.strerror or e})") from None
    if data[:2] == b"PK":  # torch's zip format: bound the members before torch reads them
        limits.open_zip(data, str(path), "PyTorch file").close()
    import io
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=not allow_pickle)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "unpickling failed"
        raise FileFormatError(f"{path}: refused to load with weights_only=True ({first}); "
                              "pass --allow-pickle only if you trust this file") from None
    except Exception as e:  # torch's reader of an untrusted file: any failure means a corrupt file
        msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise FileFormatError(f"{path}: not a readable PyTorch file (truncated or corrupt: {msg})") from None


def _infer_input_size(module: nn.Module) -> int | None:
    for m in module.modules():
        n = getattr(m, "in_features", None)
        if isinstance(n, int):
            return n
    return None


def load_model(spec: str, weights: str | None = None, allow_pickle: bool = False, input_size: int | None = None) -> LoadedModel:
    """A model from an snnc model file, or from `package.module:factory` plus an optional state_dict file."""
    path = Path(spec)
    kind = rng = None
    if ":" in spec and not path.exists():
        mod_name, _, fn_name = spec.partition(":")
        import sys
        if "" not in sys.path and os.getcwd() not in sys.path:  # `python -m` puts the current directory first; so do we
            sys.path.insert(0, os.getcwd())
        try:
            mod = importlib.import_module(mod_name)
        except ImportError as e:
            raise SnncError(f"model '{spec}': cannot import module '{mod_name}' ({e})") from None
        factory = getattr(mod, fn_name, None)
        if not callable(factory):
            raise SnncError(f"model '{spec}': module '{mod_name}' has no callable '{fn_name}'")
        try:
            module = factory()
        except Exception as e:  # the user's code: its failure is the user's to fix, named as such
            raise SnncError(f"model '{spec}': the factory raised {type(e).__name__}: {' '.join(str(e).split())}") from None
        if not isinstance(module, nn.Module):
            raise SnncError(f"model '{spec}': factory returned {type(module).__name__}, not an nn.Module")
        if weights:
            sd = _torch_load(Path(weights), allow_pickle)
            if isinstance(sd, dict) and sd.get("format") == FORMAT:
                sd = sd["state_dict"]
            if not isinstance(sd, dict):
                raise FileFormatError(f"{weights}: not a state_dict (got {type(sd).__name__})")
            _load_state(module, sd, weights)
        name = spec
    else:
        doc = _torch_load(path, allow_pickle)
        module, arch, config = _from_doc(doc, path)
        name = path.name
        try:
            input_size = input_size or zoo.ARCHS[arch].input_size({**zoo.ARCHS[arch].defaults, **config})
        except (TypeError, ValueError, KeyError, IndexError) as e:
            raise FileFormatError(f"{path}: config gives no input size ({' '.join(str(e).split())[:200]})") from None
        kind = doc.get("input_kind")
        if kind not in (None, "spike", "graded"):
            raise FileFormatError(f"{path}: input_kind must be 'spike' or 'graded', got {kind!r}")
        if doc.get("input_range") is not None:
            rng = tuple(_check_range(doc["input_range"], f"{path}: input_range"))
    module.eval()
    n = input_size or _infer_input_size(module)
    if n is None:
        raise SnncError(f"model '{spec}': cannot infer the input size; pass --input-size F")
    return LoadedModel(module, int(n), name, kind, rng)


def _from_doc(doc: Any, path: Path) -> tuple[nn.Module, str, dict]:
    """The zoo module of an snnc model file, built only after its config matched the stored weights."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise FileFormatError(f"{path}: not an snnc model file; for a plain state_dict use "
                              "'package.module:factory --weights FILE'")
    ver = check_version(doc, FORMAT, VERSION, str(path), "an snnc model file")
    for key, want in (("arch", str), ("config", dict), ("state_dict", dict)):
        if key not in doc:
            raise FileFormatError(f"{path}: model file lacks '{key}'")
        if not isinstance(doc[key], want):
            raise FileFormatError(f"{path}: '{key}' is a {type(doc[key]).__name__}, expected a {want.__name__}")
    arch, config, sd = doc["arch"], doc["config"], doc["state_dict"]
    if not all(isinstance(k, str) for k in config):
        raise FileFormatError(f"{path}: config keys must be strings")
    bad = [k for k, v in sd.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)
           or v.layout != torch.strided or v.is_quantized or v.dtype.is_complex]
    if bad:
        raise FileFormatError(f"{path}: state_dict entry {str(bad[0])[:80]!r} is not a named tensor")
    if ver >= 2 and doc.get("checksum") != checksum(arch, config, sd):
        raise FileFormatError(f"{path}: checksum mismatch: the weights or config were altered or corrupted")
    if arch not in zoo.ARCHS:
        raise FileFormatError(f"{path}: unknown architecture '{arch[:80]}' (known: {', '.join(sorted(zoo.ARCHS))})")
    try:
        with torch.device("meta"):  # shapes only: nothing is allocated for the config's sizes
            skeleton, _ = zoo.build(arch, config)
    except SnncError as e:
        raise FileFormatError(f"{path}: {e}") from None
    want = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in sd.items()}
    if want != got:
        diff = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
        k = diff[0]
        raise FileFormatError(f"{path}: config does not fit the stored weights ({len(diff)} tensor(s) differ, e.g. "
                              f"'{k[:80]}': config {want.get(k, 'no such tensor')}, weights {got.get(k, 'missing')})")
    for k, v in sd.items():
        limits.check("array_bytes", v.numel() * v.element_size(), str(path), f"the size of tensor '{k}' in bytes")
    try:
        module, _ = zoo.build(arch, config)
    except SnncError as e:
        raise FileFormatError(f"{path}: {e}") from None
    _load_state(module, sd, str(path))
    return module, arch, config


def _load_state(module: nn.Module, sd: dict, where: str) -> None:
    try:
        module.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        msg = " ".join(str(e).split())
        raise FileFormatError(f"{where}: weights do not fit the model ({msg[:300]})") from None
