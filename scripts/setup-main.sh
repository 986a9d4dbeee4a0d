#!/usr/bin/env bash
# Create the main environment (.venv, Python 3.11): snnc editable with torch, onnx and test tools.
set -euo pipefail
py=${1:-python3.11}; venv=${2:-.venv}
if [ -z "$py" ] || ! "$py" -c 'import sys; assert sys.version_info[:2] >= (3, 11)' 2>/dev/null; then
  echo "snnc setup: no Python >= 3.11 found (tried '$py'); set PYTHON311=/path/to/python3.11" >&2
  exit 1
fi
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
# torch is pinned exactly (pyproject extra 'torch'): 2.13.0 is the local CPU wheel.
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[torch,onnx,report,nir,dev,cpu,dist]" 2>&1 \
  | grep -v "^WARNING: Location .* is ignored" || true
# Frameworks the tests compare against (the 'test' extra: snnTorch, Norse, nirtorch, NeuroBench), next to the
# pinned torch: --no-deps, so none of them pulls another torch.
test_pkgs=$("$venv/bin/python" -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test"]))')
# shellcheck disable=SC2086
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps $test_pkgs 2>&1 \
  | grep -v "^WARNING: Location .* is ignored" || true
"$venv/bin/python" -c 'import snntorch, norse.torch, nirtorch' \
  || { echo "snnc setup: snntorch/norse/nirtorch do not import in $venv (see above)" >&2; exit 1; }
"$venv/bin/python" -c 'import torch, onnx, onnxruntime, numba, snnc.compiler; assert torch.__version__.startswith("2.13.0"), torch.__version__' \
  || { echo "snnc setup: the main environment $venv is broken (see above)" >&2; exit 1; }
echo "snnc setup: $venv ready"
