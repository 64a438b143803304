#!/usr/bin/env bash
# The main job on the shipped model: digitize, score and draw the bundled examples (set-up first if needed).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
exec python scripts/demo.py "$@"
