#!/usr/bin/env bash
# Train the way the shipped model was trained, on one CUDA GPU: the pages rendered once, then the U-Net and YOLO
# side by side, each with MINUTES (13 for the shipped model: ~15 min in all on an H100 with 16 CPU cores).
#     bash scripts/train_gpu.sh DATA MODEL [MINUTES]
# The GPU's defaults (ecgdigitizer/train/config.py, GPU) apply: 8 pages per record, batches of 32. The pages stay
# in $ECGD_WORK (default MODEL/.work, git-ignored under model/); the U-Net's log goes to MODEL/.work/unet.log.
set -euo pipefail
DATA=${1:?usage: bash scripts/train_gpu.sh DATA MODEL [MINUTES]}
MODEL=${2:?usage: bash scripts/train_gpu.sh DATA MODEL [MINUTES]}
MINUTES=${3:-13}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export ECGD_WORK=${ECGD_WORK:-$MODEL/.work}
mkdir -p "$ECGD_WORK"
cores=$(nproc)
ECGD_STAGES=pages ECGD_WORKERS=$(( cores > 2 ? cores - 1 : 2 )) python train_model.py -d "$DATA" -m "$MODEL" -v
ECGD_STAGES=unet ECGD_WORKERS=$(( cores > 6 ? cores * 5 / 8 : 2 )) ECGD_TIME_BUDGET_MIN=$MINUTES \
    python train_model.py -d "$DATA" -m "$MODEL" -v > "$ECGD_WORK/unet.log" 2>&1 &
unet=$!
ECGD_STAGES=yolo ECGD_WORKERS=$(( cores > 6 ? cores * 3 / 4 : 2 )) ECGD_TIME_BUDGET_MIN=$MINUTES \
    python train_model.py -d "$DATA" -m "$MODEL" -v
wait $unet
tail -n 3 "$ECGD_WORK/unet.log"
