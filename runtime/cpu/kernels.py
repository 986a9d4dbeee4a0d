"""Loading generated kernels: the source is written once per content hash, numba caches the machine code beside it.

A second process that lowers the same graph writes nothing, imports the same
file and loads numba's on-disk cache (`__pycache__` next to the source), so it
starts without compiling. The cache folder is the artifact's `kernels/` for
`snnc run`, else `$SNNC_CACHE_DIR` or `~/.cache/snnc/cpu`.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from snnc.compiler.errors import SnncError

NUMBA_PIN = "numba==0.68.1"
_LOADED: dict[str, ModuleType] = {}
_POOLS: dict = {}
_TARGET_READY = False


def threads() -> int:
    """Default threads for batched runs: $SNNC_THREADS, else the cores this process may use."""
    env = os.environ.get("SNNC_THREADS")
    if env:
        return max(1, int(env))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def pool(n: int):
    """A process-wide thread pool of n workers (kernels release the GIL, so these run in parallel)."""
    if n not in _POOLS:
        from concurrent.futures import ThreadPoolExecutor
        _POOLS[n] = ThreadPoolExecutor(n, thread_name_prefix="snnc-cpu")
    return _POOLS[n]


def require_numba() -> ModuleType:
    """numba, or one line saying how to install it."""
    try:
        import numba
    except Exception as e:  # missing, or broken against this numpy
        raise SnncError(f"the cpu target needs numba ({type(e).__name__}: {e}); install it with "
                        f"'.venv/bin/pip install {NUMBA_PIN}' or 'pip install snnc[cpu]'") from None
    global _TARGET_READY
    if not _TARGET_READY:
        _load_target()
        _TARGET_READY = True
    return numba


def _load_target() -> None:
    """Load numba's CPU target (its first compile or cache load would) without importing scipy.linalg.

    numba's numpy support probes for BLAS by importing scipy.linalg.cython_blas, and scipy.linalg's import
    is about a third of a second-process start; the stepwise kernels call no BLAS. A placeholder module answers
    that probe while the target loads and is removed after, so a later `import scipy.linalg` (or a numba function
    using np.dot, as the node-major kernel's whole-sequence products do, which imports cython_blas itself when
    compiled) gets the real module.
    """
    import importlib.util
    from numba.core.registry import cpu_target
    name = "scipy.linalg.cython_blas"
    stub = None
    if name not in sys.modules and importlib.util.find_spec("scipy") is not None:  # no scipy: numba says no BLAS
        stub = sys.modules[name] = ModuleType(name)
    try:
        cpu_target.target_context.refresh()
    finally:
        if stub is not None and sys.modules.get(name) is stub:
            del sys.modules[name]


def default_cache_dir() -> Path:
    return Path(os.environ.get("SNNC_CACHE_DIR") or Path.home() / ".cache" / "snnc") / "cpu"


def load(source: str, key: str, cache_dir: Path | None = None) -> ModuleType:
    """The kernel module of `source` (hash `key`), written to `cache_dir` if not there yet."""
    if key in _LOADED:
        return _LOADED[key]
    require_numba()
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"k_{key}.py"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != source:
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(source)
            os.replace(tmp, path)  # atomic: a concurrent process sees the old or the new file, whole
    except OSError:
        if cache_dir is None:
            raise SnncError(f"cpu backend: cannot write kernels to {folder}; set SNNC_CACHE_DIR to a writable folder") \
                from None
        return load(source, key, None)  # a read-only artifact: use the user cache
    name = f"snnc_cpu_kernel_{key}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # numba's cache locator needs the module importable by name
    spec.loader.exec_module(mod)
    _LOADED[key] = mod
    return mod
