#!/usr/bin/env bash
# `make demo`: the whole job on the pretrained ECG fixture (QTDB wave segmentation, 4-36r-6 adaptive SRNN):
# compile to every target (float and Loihi fixed point), verify on the test set with the accuracy per target,
# and the energy report with its plot. Everything goes to $OUT (default demo-out/).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-demo-out}
SNNC=".venv/bin/python -m snnc.cli.main"
PY=.venv/bin/python
LAVA_SAMPLES=${LAVA_SAMPLES:-16}
mkdir -p "$OUT"
step() { printf '\n== %s\n' "$*"; }

step "the trained fixture and its data"
$SNNC zoo ecg --pretrained -o "$OUT/ecg.pt"
$SNNC zoo ecg --dataset test -o "$OUT/ecg_test.npz"
$SNNC zoo ecg --dataset train -o "$OUT/ecg_train.npz"
# calibration: 32 training sequences; report input: 4 test sequences
$PY -c "import numpy as np, sys; z = np.load(sys.argv[1]); np.save(sys.argv[2], z['x'][:, :32])" "$OUT/ecg_train.npz" "$OUT/calib.npy"
$PY -c "import numpy as np, sys; z = np.load(sys.argv[1]); np.save(sys.argv[2], z['x'][:, :4])" "$OUT/ecg_test.npz" "$OUT/x4.npy"

step "compile: float targets"
$SNNC compile "$OUT/ecg.pt" -t numpy --calib "$OUT/calib.npy" -o "$OUT/ecg.snn"
$SNNC compile "$OUT/ecg.pt" -t onnx --calib "$OUT/calib.npy" -o "$OUT/ecg.onnx"
$SNNC compile "$OUT/ecg.pt" -t loihi --calib "$OUT/calib.npy" -o "$OUT/ecg.lava"
step "compile: Loihi fixed point"
$SNNC compile "$OUT/ecg.pt" -t numpy --quantize loihi --calib "$OUT/calib.npy" -o "$OUT/ecg_loihi.snn"
$SNNC compile "$OUT/ecg.pt" -t loihi --quantize loihi --calib "$OUT/calib.npy" -o "$OUT/ecg_loihi.lava"

step "verify on the test set: float targets (Lava on the first $LAVA_SAMPLES sequences)"
status=0
$SNNC verify "$OUT/ecg.pt" --targets numpy,onnx,loihi --dataset "$OUT/ecg_test.npz" --slow-samples "$LAVA_SAMPLES" \
    | tee "$OUT/verify_float.txt" || status=1
step "verify on the test set: Loihi fixed point against the float graph"
$SNNC verify "$OUT/ecg.pt" --targets numpy,loihi --quantize loihi --calib "$OUT/calib.npy" --dataset "$OUT/ecg_test.npz" \
    --slow-samples "$LAVA_SAMPLES" | tee "$OUT/verify_loihi.txt" || status=1

step "energy: op counts from measured activity, Loihi 1 and 45 nm CMOS"
$SNNC report "$OUT/ecg.snn" --input "$OUT/x4.npy" --energy-model loihi1 --compare lstm --plot "$OUT/energy.png" \
    --json "$OUT/report.json" | tee "$OUT/report.txt"

step "outputs"
echo "  model and data:  $OUT/ecg.pt, $OUT/ecg_test.npz"
echo "  artifacts:       $OUT/ecg.snn (numpy), $OUT/ecg.onnx (onnx), $OUT/ecg.lava (Lava float),"
echo "                   $OUT/ecg_loihi.snn (NumPy integer runtime), $OUT/ecg_loihi.lava (Lava fixed_pt)"
echo "  verification:    $OUT/verify_float.txt, $OUT/verify_loihi.txt"
echo "  energy report:   $OUT/report.txt, $OUT/report.json, plot $OUT/energy.png"
[ "$status" = 0 ] || echo "demo: a verification FAILED (see above)" >&2
exit "$status"
