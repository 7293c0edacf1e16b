#!/usr/bin/env bash
# Quick start 1: set everything up, then run the main job on the embedded
# default (template teacher, kglite demo graph) and show where its results are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
WS=${WORKSPACE:-workspace/demo}
.venv/bin/python loop.py generate --domain cypher --teacher template --count 500 --workspace "$WS"
.venv/bin/python loop.py audit "$WS" --limit 3
.venv/bin/python loop.py export "$WS" --format jsonl
echo "results: $WS (store: $WS/examples.sqlite, accepted data: $WS/exports/accepted.jsonl)"
