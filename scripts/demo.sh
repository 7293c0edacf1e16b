#!/usr/bin/env bash
# Quick start 1: set everything up, then run the main job: a full improvement
# cycle on the embedded default (template teacher, `tiny` student, kglite demo
# graph), and print where its results and report are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
WS=${WORKSPACE:-workspace/demo}
.venv/bin/python loop.py run --domain cypher --teacher template --student tiny --rounds 3 --workspace "$WS" \
    --eval data/cypher/eval_handwritten.jsonl
.venv/bin/python loop.py audit "$WS" --limit 3
echo "results: $WS (examples: $WS/examples.sqlite; runs, students and report: $WS/runs/)"
