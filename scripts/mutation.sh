#!/usr/bin/env bash
# Mutation testing (mutmut) of the code whose output is a reported number or a split decision: each module's
# mutants are run against the fast test files listed in pyproject.toml ([tool.mutmut]), then the score per
# module is printed (killed / non-equivalent mutants; equivalent ones are listed in
# scripts/mutation_equivalent.txt with a reason). Not part of CI: it takes about 15 minutes on 2 cores.
# Needs the dev extra (scripts/setup.sh installs it). Results stay in mutants/ (git-ignored).
#
# Usage: bash scripts/mutation.sh [--survivors] [LABEL ...]
#   --survivors   print the diff of every surviving non-equivalent mutant after the table
#   LABEL         run only the modules whose label starts with LABEL (e.g. metrics/ or data/audit.py)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
cd "$ROOT"

# label | mutmut mutant-name globs (module.x_function__mutmut_N). When a file moves, update this list and
# only_mutate in pyproject.toml.
MODULES="$(cat <<'LIST'
metrics/classification.py | ferbench.metrics.classification.*
metrics/compare.py | ferbench.metrics.compare.*
metrics/calibration.py | ferbench.metrics.calibration.*
data/audit.py | ferbench.data.audit.*
data/fer_csv.py: label and Usage mapping | ferbench.data.fer_csv.x__parse_labels__* ferbench.data.fer_csv.x__parse_usage__*
data/folder.py: class and split folders | ferbench.data.folder.x__layout__* ferbench.data.folder.x__class_dirs__*
emotions.py | ferbench.emotions.*
degrade/registry.py | ferbench.degrade.registry.*
LIST
)"

show=""
labels=()
for arg in "$@"; do
  if [ "$arg" = "--survivors" ]; then show="--survivors"; else labels+=("$arg"); fi
done
selected="$(mktemp)"
trap 'rm -f "$selected"' EXIT
while IFS= read -r line; do
  label="${line%%|*}"
  keep=$([ ${#labels[@]} -eq 0 ] && echo 1 || echo 0)
  for want in "${labels[@]}"; do [[ "$label" == "$want"* ]] && keep=1; done
  [ "$keep" = 1 ] && echo "$line" >> "$selected"
done <<< "$MODULES"
[ -s "$selected" ] || { echo "mutation.sh: no module matches ${labels[*]}" >&2; exit 2; }

# A fresh start: mutmut keeps earlier results of unchanged functions even when the tests changed.
rm -rf mutants
# One bounded run per module, at low priority (scores do not depend on timing).
while IFS= read -r line; do
  echo "== ${line%%|*}" >&2
  # shellcheck disable=SC2086
  nice -n 15 "$PY" -m mutmut run ${line#*|} > mutants.log 2>&1 || { tail -20 mutants.log >&2; exit 1; }
done < "$selected"
"$PY" scripts/mutation_report.py "$selected" $show
