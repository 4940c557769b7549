#!/usr/bin/env bash
# The main job: set up .venv if needed, then run the quick study (every stage of ferbench on a subset of
# the shared FER-2013 file, a few minutes on a CPU) and render its report.
#   results/quick/report/report.html   the report (self-contained HTML), report.md beside it
#   results/quick/store.parquet        every run in one table
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
export FERBENCH_DATA="${FERBENCH_DATA:-$ROOT/../shared/data/fer2013-train-public.csv.gz}"
export FERBENCH_MODELS="${FERBENCH_MODELS:-$ROOT/../shared/models}"
export FERBENCH_TINY_CLIP="${FERBENCH_TINY_CLIP:-$ROOT/results/tiny-models/open_clip}"
ferbench data info "$FERBENCH_DATA"
# The quick study's VLM cell is a smoke test with a tiny random CLIP (hubs are unreachable offline).
[ -e "$FERBENCH_TINY_CLIP" ] || ferbench vlm tiny open_clip "$FERBENCH_TINY_CLIP"
ferbench run quick --out results/quick "$@"
ferbench report results/quick
