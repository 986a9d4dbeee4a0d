"""Run in the Lava env by test_lava_native.py: Lava's OWN Dense -> LIF (fixed_pt), no snnc code; dumps u, v per Lava step."""
import json
import sys

import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import Dense
from lava.proc.io.source import RingBuffer
from lava.proc.lif.process import LIF
from lava.utils.weightutils import SignMode

cfg = json.load(open(sys.argv[1]))
x = np.array(cfg["x"], np.int64)  # [T, F]
T = x.shape[0]
W = np.array(cfg["W"])
src = RingBuffer(data=x.T.astype(np.int32))
dense = Dense(weights=W, weight_exp=cfg["weight_exp"], num_weight_bits=8, sign_mode=SignMode.MIXED,
              num_message_bits=cfg["message_bits"])
lif = LIF(shape=(W.shape[0],), **{k: np.array(v) for k, v in cfg["lif"].items()})
src.s_out.connect(dense.s_in)
dense.a_out.connect(lif.a_in)
us, vs = [], []
run_cfg = Loihi2SimCfg(select_tag="fixed_pt")
for _ in range(T + 1):
    lif.run(condition=RunSteps(num_steps=1), run_cfg=run_cfg)
    us.append(lif.u.get().astype(np.int64).tolist())
    vs.append(lif.v.get().astype(np.int64).tolist())
lif.stop()
json.dump({"u": us, "v": vs}, open(sys.argv[2], "w"))
