#!/usr/bin/env bash
# The demo command: sets up a virtualenv with the package and uvicorn, then serves the example news site
# wrapped by adguard_mw. Extra arguments go to `adguard-mw demo` (e.g. --policy hard --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[demo]"
exec .venv/bin/adguard-mw demo "$@"
