"""Self-describing snnc model files (.pt) and loading of user models given as `package.module:factory`.

A model file is a plain dict {format, version, arch, config, state_dict} that
`torch.load(..., weights_only=True)` reads without unpickling any code.
"""
from __future__ import annotations

import importlib
import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from snnc.compiler.errors import FileFormatError, SnncError
from snnc.compiler.files import atomic_path
from snnc.frontends import zoo

FORMAT, VERSION = "snnc-model", 1


@dataclass
class LoadedModel:
    """A PyTorch model ready to trace: the module and its input feature size."""

    module: nn.Module
    input_size: int
    name: str


def save_model(path: str | os.PathLike, arch: str, config: dict[str, Any], module: nn.Module) -> None:
    """Write a self-describing model file atomically."""
    doc = {"format": FORMAT, "version": VERSION, "arch": arch, "config": config,
           "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()}}
    import io
    buf = io.BytesIO()
    torch.save(doc, buf)  # into memory first: the archive is named after the file, not the temp name
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def _torch_load(path: Path, allow_pickle: bool) -> Any:
    if not path.exists():
        raise FileFormatError(f"{path}: no such file")
    if path.is_dir():
        raise FileFormatError(f"{path}: is a directory, not a model file")
    try:
        return torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "unpickling failed"
        raise FileFormatError(f"{path}: refused to load with weights_only=True ({first}); "
                              "pass --allow-pickle only if you trust this file") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
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
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise FileFormatError(f"{path}: not an snnc model file; for a plain state_dict use "
                                  "'package.module:factory --weights FILE'")
        if not isinstance(doc.get("version"), int) or doc["version"] > VERSION:
            raise FileFormatError(f"{path}: written by a newer snnc (model format {doc.get('version')}); upgrade snnc")
        try:
            arch, config, sd = doc["arch"], doc["config"], doc["state_dict"]
        except KeyError as e:
            raise FileFormatError(f"{path}: model file lacks {e}") from None
        try:
            module, _ = zoo.build(arch, config) if arch in zoo.ARCHS else (None, None)
        except SnncError as e:
            raise FileFormatError(f"{path}: {e}") from None
        if module is None:
            raise FileFormatError(f"{path}: unknown architecture '{arch}' (known: {', '.join(sorted(zoo.ARCHS))})")
        _load_state(module, sd, str(path))
        name = path.name
        input_size = input_size or zoo.ARCHS[arch].input_size({**zoo.ARCHS[arch].defaults, **config})
    module.eval()
    n = input_size or _infer_input_size(module)
    if n is None:
        raise SnncError(f"model '{spec}': cannot infer the input size; pass --input-size F")
    return LoadedModel(module, int(n), name)


def _load_state(module: nn.Module, sd: dict, where: str) -> None:
    try:
        module.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        msg = " ".join(str(e).split())
        raise FileFormatError(f"{where}: weights do not fit the model ({msg[:300]})") from None
