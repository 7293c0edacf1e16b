#!/usr/bin/env bash
# Quick start 2: set everything up, then run the whole test suite (slow tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Two worker processes (PYTEST_WORKERS), each taking whole files (a file's fixtures are built once), and
# one OpenMP thread each (torch): OpenMP threads spin while they wait, and more threads than cores
# made two workers slower than one. --durations: the slowest tests in every CI log (CI must stay under 40
# minutes).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile --durations=25 "$@"
