#!/usr/bin/env bash
# The main job: set up .venv if needed, then run the quick study (real FER models on a stratified sample of
# the shared FER-2013 PublicTest, five degradations, restorers where they apply; a few minutes on a CPU)
# and render its report, which opens with the findings.
#   results/quick/report/report.html   the report (self-contained HTML), report.md beside it
#   results/quick/store.parquet        every run in one table
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
export FERBENCH_DATA="${FERBENCH_DATA:-$ROOT/../shared/data/fer2013-train-public.csv.gz}"
export FERBENCH_MODELS="${FERBENCH_MODELS:-$ROOT/../shared/models}"
ferbench data info "$FERBENCH_DATA"
ferbench run quick --out results/quick "$@"
ferbench report results/quick
