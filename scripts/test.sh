#!/usr/bin/env bash
# The whole test suite, after setting up .venv if needed:  bash scripts/test.sh [pytest options]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
exec python -m pytest -q "$@" tests
