#!/usr/bin/env bash
# Create .venv from requirements.txt when it is missing or the requirements changed; then nothing.
# Sourced by the other scripts, so that each README command does its own set-up on a fresh machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.requirements.sha256"
want="$(sha256sum "$ROOT/requirements.txt" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "setting up $VENV from requirements.txt (a few minutes the first time)..." >&2
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -r "$ROOT/requirements.txt"
  "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT"
  echo "$want" > "$STAMP"
fi
# Keep ultralytics, matplotlib and friends off the network and out of the home folder.
export YOLO_OFFLINE=1 YOLO_AUTOINSTALL=0
export YOLO_CONFIG_DIR="$ROOT/.cache/ultralytics" MPLCONFIGDIR="$ROOT/.cache/matplotlib"
export PATH="$VENV/bin:$PATH"
