#!/usr/bin/env bash
# Create the Lava environment (.venv-lava, Python 3.10): lava-nc 0.10.0, numpy<2 and the snnc core (no torch).
set -euo pipefail
venv=${1:-.venv-lava}
find_py310() {
  if [ -n "${SNNC_PYTHON310:-}" ]; then echo "$SNNC_PYTHON310"; return; fi
  if command -v pyenv >/dev/null 2>&1; then
    for p in "$(pyenv root)"/versions/3.10.*/bin/python3.10; do [ -x "$p" ] && { echo "$p"; return; }; done
  fi
  for p in python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
    command -v "$p" >/dev/null 2>&1 && { command -v "$p"; return; }
  done
}
py=$(find_py310 || true)
if [ -z "$py" ] || ! "$py" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
  echo "snnc setup: lava-nc 0.10.0 needs Python 3.10 and none was found (looked at \$SNNC_PYTHON310, \$(pyenv root)/versions/3.10.*, python3.10 on PATH); install one, e.g. 'pyenv install 3.10', or set SNNC_PYTHON310" >&2
  exit 1
fi
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "lava-nc==0.10.0" "numpy<2" 2>&1 \
  | grep -v "^WARNING: Location .* is ignored" || true
# The snnc core only: its own dependencies (numpy, networkx, tqdm) are already satisfied by lava's pins.
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e . 2>&1 \
  | grep -v "^WARNING: Location .* is ignored" || true
"$venv/bin/python" -c 'import lava.magma, snnc.compiler, numpy; assert numpy.__version__ < "2"' \
  || { echo "snnc setup: the Lava environment $venv is broken (see above)" >&2; exit 1; }
echo "snnc setup: $venv ready"
