"""The ECG model and data the verify tests use: seed 000's 4-36r-6 architecture on real QTDB test sequences."""
from __future__ import annotations

import numpy as np

ECG_CFG = {"sizes": [4, 36, 6], "recurrent": True, "neuron": "lif", "dt": 1.0, "tau_m": 20.0, "tau_adp": 7.0,
           "b0": 0.01, "beta": 0.0, "theta": 0.01, "reset": "subtract", "output": "alif", "tau_m_out": 20.0,
           "tau_adp_out": 100.0, "b0_out": 0.01, "beta_out": 1.8}


def ecg_model(path) -> str:
    """Write the ECG model to `path` (.pt): the trained fixture when it is shipped, else the architecture, seeded."""
    from snnc.frontends import zoo
    from snnc.frontends.modelfile import save_model
    if zoo.pretrained_path("ecg").exists():
        import shutil
        shutil.copyfile(zoo.pretrained_path("ecg"), path)
        return "trained"
    m, cfg = zoo.build("srnn", ECG_CFG, seed=0)
    save_model(path, "srnn", cfg, m)
    return "seeded"


def ecg_data(n: int = 8, T: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """The first n QTDB test sequences, first T steps: x [T, n, 4] in {-1, 0, 1}, y [T, n]."""
    from snnc.frontends.datasets import load_dataset
    x, y = load_dataset("ecg", "test")
    return np.ascontiguousarray(x[:T, :n]), np.ascontiguousarray(y[:T, :n])
