#!/usr/bin/env bash
# Run the whole test suite in the main environment; Lava tests use .venv-lava through SNNC_LAVA_PYTHON.
# pytest's exit code 5 ("no tests ran") is a failure here, never green.
set -uo pipefail
cd "$(dirname "$0")/.."
export SNNC_LAVA_PYTHON="${SNNC_LAVA_PYTHON:-$PWD/.venv-lava/bin/python}"
.venv/bin/python -m pytest "$@"
rc=$?
if [ $rc -eq 5 ]; then echo "snnc test: pytest collected no tests; that is a failure" >&2; exit 1; fi
exit $rc
