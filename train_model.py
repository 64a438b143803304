#!/usr/bin/env python
"""Train the models on a folder of Challenge records (the organisers' command line).

    python train_model.py -d DATA -m MODEL [-v]

Options the organisers' command cannot pass are read from the environment (see ``ecgdigitizer.train``):
ECGD_TIME_BUDGET_MIN, ECGD_PAGES_PER_RECORD, ECGD_UNET_STEPS, ECGD_YOLO_EPOCHS, ECGD_SEED, ECGD_WORKERS,
ECGD_DEVICE, ECGD_STAGES, ECGD_QUICK (defaults for 2 CPU cores, or for a GPU where torch sees one).
"""

from __future__ import annotations

import argparse
import sys

from team_code import train_models


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train the Challenge models.")
    parser.add_argument("-d", "--data_folder", required=True)
    parser.add_argument("-m", "--model_folder", required=True)
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


if __name__ == "__main__":
    args = get_parser().parse_args(sys.argv[1:])
    train_models(args.data_folder, args.model_folder, args.verbose)
