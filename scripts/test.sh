#!/usr/bin/env bash
# Quick start 2: set everything up, then run the whole test suite (slow tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# --durations: the slowest tests in every CI log, to keep the run under 30 minutes
exec .venv/bin/python -m pytest --durations=25 "$@"
