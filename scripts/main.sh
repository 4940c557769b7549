#!/usr/bin/env bash
# The main job: set up .venv if needed, then describe and audit the shared FER-2013 file.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
DATA="${FERBENCH_DATA:-$ROOT/../shared/data/fer2013-train-public.csv.gz}"
mkdir -p "$ROOT/results"
ferbench data info "$DATA"
ferbench data audit "$DATA" --output "$ROOT/results/audit.json" --write-clean-split "$ROOT/results/clean-split.json"
