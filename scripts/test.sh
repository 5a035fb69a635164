#!/usr/bin/env bash
# The test command: sets up everything on a bare Debian machine with Python 3.11+, then runs the checks.
# A virtualenv in .venv, the package with its test extras, Debian's chromium for the browser tests (apt-get,
# through sudo when not root), axe-core from the npm registry, then ruff, mypy --strict and pytest.
# Extra arguments go to pytest (e.g. -k beacon, -m browser, -n 0 for one process).
#   --fast   the edit-test loop: no browser tests, no slow ones (servers, packaging) and no Spark ones (a JVM),
#            no chromium or axe set-up, and the "ci" Hypothesis profile (fewer examples; see tests/conftest.py)
set -euo pipefail
cd "$(dirname "$0")/.."

fast=""
args=()
for arg in "$@"; do
  if [ "$arg" = "--fast" ]; then fast=1; else args+=("$arg"); fi
done

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"

if [ -z "$fast" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

# Debian's headless Java for the Spark engine's tests (PySpark 4 needs Java 17+; default-jre-headless is 17 on
# Debian 12, 21 on Debian 13).
if ! command -v java >/dev/null 2>&1; then
  echo "Installing Debian's headless Java for the Spark tests..."
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq default-jre-headless >/dev/null
fi

# --- axe-core for the accessibility tests (tests/browser/test_accessibility.py) ---------------------------
# The npm package's axe.min.js, pinned and checked against the registry's sha512 integrity (both in
# tests/browser/axe.py), extracted into .cache/axe-core/ (git-ignored). No node needed. A failed download or an
# integrity mismatch stops here.
if [ -z "$fast" ] && ! .venv/bin/python -m tests.browser.axe; then
  echo "ERROR: could not fetch axe-core for the accessibility tests (see above)." >&2
  exit 1
fi
# --- end of axe-core -------------------------------------------------------------------------------------

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# Tests run in parallel (pytest-xdist) unless the arguments choose (-n 0: one process): one worker per core for
# --fast, which computes. The browser and server tests also wait (on pages, timers, subprocesses): on 2 cores, two
# workers per core ran the whole suite in 420 s where one per core took 463 s (same machine, same load), so machines
# of up to four cores run two per core.
cores=$(nproc 2>/dev/null || echo 2)
workers=$cores
if [ -z "$fast" ] && [ "$cores" -le 4 ]; then workers=$((2 * cores)); fi
parallel=(-n "$workers")
for arg in "${args[@]+"${args[@]}"}"; do
  case "$arg" in -n | -n* | --numprocesses*) parallel=() ;; esac
done
if [ -n "$fast" ]; then
  export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"  # fewer examples in the loop; the full run keeps them
  .venv/bin/python -m pytest -m "not browser and not slow and not spark" "${parallel[@]+"${parallel[@]}"}" "${args[@]+"${args[@]}"}"
else
  .venv/bin/python -m pytest "${parallel[@]+"${parallel[@]}"}" "${args[@]+"${args[@]}"}"
fi
