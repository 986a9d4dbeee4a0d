"""The data sets of the pretrained fixtures, rebuilt from data at hand (nothing is downloaded).

`load_dataset(name, split)` returns `(x, y)`: x [T, N, F] float32 (time first, as
every snnc model takes it) and y int64 labels, [N] for one label per sequence or
[T, N] for a label per step (ECG). `name` is a data set below or the name of a
pretrained fixture (frontends/zoo.py PRETRAINED), `split` is "train" or "test".
Splits are fixed: the same arrays on every machine and every call.

| data set | source | x | y |
|---|---|---|---|
| `ecg` | `QTDB_{train,test}.mat` (seed 000's level-crossing encoded QT database) | [1301, N, 4] in {-1, 0, 1} | [1301, N], 6 classes per step |
| `digits-rows` | scikit-learn's bundled 8x8 digits, one image row per step | [8, N, 8] in [0, 1] | [N], 10 classes |
| `digits-pixels-permuted` | the same digits, one pixel per step in a fixed permutation (seed 0) | [64, N, 1] in [0, 1] | [N] |
| `digits-latency` | the same digits, each pixel a single spike at step 16 − intensity (brighter earlier; blank pixels never fire) | [16, N, 64] in {0, 1} | [N] |
| `delayed-cue` | synthetic memory task: a cue, a distractor delay, then a recall signal (see `delayed_cue`) | [60, N, 10] in {0, 1} | [N], 4 classes |

The ECG files are found in `$SNNC_QTDB_DIR`, else `../shared/data/qtdb` beside the repository.
The digits are 1797 images; 540 (30 %, a seed-0 permutation) are the test split.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from snnc.compiler.errors import SnncError

SPLITS = ("train", "test")
REPO = Path(__file__).resolve().parents[1]
DIGITS_TEST = 540
LATENCY_STEPS = 16


def qtdb_dir() -> Path:
    """Folder of QTDB_{train,test}.mat: $SNNC_QTDB_DIR, else ../shared/data/qtdb beside the repository."""
    env = os.environ.get("SNNC_QTDB_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data" / "qtdb"


def ecg(split: str) -> tuple[np.ndarray, np.ndarray]:
    """QTDB ECG wave segmentation: x [1301, N, 4] in {-1, 0, 1}, y [1301, N] (a step without a label is class 0,
    as argmax of its all-zero one-hot row, the convention of seed 000's code)."""
    path = qtdb_dir() / f"QTDB_{split}.mat"
    if not path.exists():
        raise SnncError(f"ECG data {path} not found; set SNNC_QTDB_DIR to the folder with QTDB_train.mat and QTDB_test.mat")
    try:
        import scipy.io as sio
    except ImportError:
        raise SnncError("the ECG data set needs scipy (pip install scipy)") from None
    d = sio.loadmat(path)
    x = np.ascontiguousarray(d["x"].astype(np.float32).transpose(1, 0, 2))
    y = np.ascontiguousarray(d["y"].argmax(-1).astype(np.int64).T)
    return x, y


def _digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images [N, 8, 8] in [0, 1] and labels [N] of the split."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise SnncError("the digits data sets need scikit-learn (pip install scikit-learn)") from None
    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)
    labels = d.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(labels))
    idx = order[:DIGITS_TEST] if split == "test" else order[DIGITS_TEST:]
    return images[idx], labels[idx]


def digits_rows(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Row by row: x [8, N, 8]."""
    img, y = _digits(split)
    return np.ascontiguousarray(img.transpose(1, 0, 2)), y


def pixel_permutation() -> np.ndarray:
    """The fixed pixel order of the permuted variant (a permutation of 0..63, seed 0)."""
    return np.random.default_rng(0).permutation(64)


def digits_pixels_permuted(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Pixel by pixel in a fixed permuted order: x [64, N, 1]."""
    img, y = _digits(split)
    flat = img.reshape(len(y), 64)[:, pixel_permutation()]
    return np.ascontiguousarray(flat.T[:, :, None]), y


def digits_latency(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Latency code: pixel k of intensity q (0..16) spikes once, on channel k at step 16 − q; q = 0 never spikes.
    x [16, N, 64] in {0, 1}."""
    img, y = _digits(split)
    q = np.rint(img.reshape(len(y), 64) * 16).astype(np.int64)
    x = np.zeros((LATENCY_STEPS, len(y), 64), np.float32)
    n, k = np.nonzero(q)
    x[LATENCY_STEPS - q[n, k], n, k] = 1.0
    return x, y


CUE_CLASSES, CUE_STEPS, DELAY_STEPS, RECALL_STEPS = 4, 10, 40, 10


def delayed_cue(split: str, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Delayed classification (a memory task), 60 steps, 10 input channels:

    - steps 0-9, the cue: channel y (of 0-3) fires with probability 0.5 per step, the other cue channels 0.02;
    - steps 10-49, the delay: distractor channels 4-8 fire with probability 0.1, cue channels 0.02;
    - steps 50-59, the recall: channel 9 fires every step, cue channels 0.02; the answer y is read at the last step.

    The train split has 2048 sequences (seed 1), the test split 512 (seed 2)."""
    n = n or (2048 if split == "train" else 512)
    rng = np.random.default_rng(1 if split == "train" else 2)
    T = CUE_STEPS + DELAY_STEPS + RECALL_STEPS
    y = rng.integers(0, CUE_CLASSES, n)
    p = np.zeros((T, n, 10))
    p[:, :, :CUE_CLASSES] = 0.02
    p[:CUE_STEPS, np.arange(n), y] = 0.5
    p[CUE_STEPS:CUE_STEPS + DELAY_STEPS, :, CUE_CLASSES:9] = 0.1
    p[CUE_STEPS + DELAY_STEPS:, :, 9] = 1.0
    x = (rng.random((T, n, 10)) < p).astype(np.float32)
    return x, y.astype(np.int64)


DATASETS = {"ecg": ecg, "digits-rows": digits_rows, "digits-pixels-permuted": digits_pixels_permuted,
            "digits-latency": digits_latency, "delayed-cue": delayed_cue}


def load_dataset(name: str, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """(x [T, N, F] float32, y int64 labels) of data set or pretrained fixture `name`, split "train" or "test"."""
    if split not in SPLITS:
        raise SnncError(f"data set '{name}': split must be one of {', '.join(SPLITS)}, got {split!r}")
    if name not in DATASETS:
        from snnc.frontends.zoo import PRETRAINED
        if name in PRETRAINED:
            name = PRETRAINED[name].dataset
        else:
            raise SnncError(f"unknown data set '{name}'; known: {', '.join(DATASETS)} "
                            f"or a pretrained fixture ({', '.join(PRETRAINED)})")
    return DATASETS[name](split)
