#!/usr/bin/env bash
# Quick start 2: set everything up, then run the whole test suite (slow tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Two worker processes (PYTEST_WORKERS), each taking whole files (a file's fixtures are built once);
# --durations: the slowest tests in every CI log, to keep the run under 40 minutes.
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile --durations=25 "$@"
