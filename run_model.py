#!/usr/bin/env python
"""Run the trained models on Challenge records (the organisers' command line and output convention).

    python run_model.py -d DATA -m MODEL -o OUTPUTS [-v] [-f]

For every record below DATA: ``run_models`` digitizes its images; the input header is copied unchanged to
OUTPUTS, the signal is written with ``save_signals`` and ``# Labels:`` is appended when there are labels.
Without ``-f`` the first failing record stops the run with a one-line message; with ``-f`` it is recorded as
failed (header only) and the run goes on.
"""

from __future__ import annotations

import argparse
import os
import sys

from helper_code import find_records, get_header_file, load_text, save_labels, save_signals, save_text
from team_code import load_models, run_models


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Run the trained Challenge models.")
    parser.add_argument("-d", "--data_folder", required=True)
    parser.add_argument("-m", "--model_folder", required=True)
    parser.add_argument("-o", "--output_folder", required=True)
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("-f", "--allow_failures", action="store_true")
    return parser


def fail(message: str) -> int:
    print(f"run_model.py: {message}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    if args.verbose:
        print("Loading the Challenge models...")
    digitization_model, classification_model = load_models(args.model_folder, args.verbose)

    records = find_records(args.data_folder)
    if not records:
        return fail(f"no records (.hea files) found in {args.data_folder}")
    if os.path.abspath(args.output_folder) == os.path.abspath(args.data_folder):
        return fail("the output folder must differ from the data folder (inputs are never overwritten)")
    try:
        os.makedirs(args.output_folder, exist_ok=True)
        if not os.access(args.output_folder, os.W_OK):
            raise PermissionError(f"cannot write to {args.output_folder}")
    except OSError as e:
        return fail(f"output folder {args.output_folder}: {e}")

    failed = 0
    for i, name in enumerate(records):
        if args.verbose:
            print(f"- {i + 1:>{len(str(len(records)))}}/{len(records)}: {name}...")
        record = os.path.join(args.data_folder, name)
        header = load_text(get_header_file(record))
        try:
            signal, labels = run_models(record, digitization_model, classification_model, args.verbose)
        except Exception as e:  # the organisers' script catches everything under -f, so do we
            if not args.allow_failures:
                return fail(f"{name}: {e} (use -f to go on past failing records)")
            print(f"run_model.py: {name}: failed: {e}", file=sys.stderr)
            signal = labels = None
            failed += 1

        output_record = os.path.join(args.output_folder, name)
        os.makedirs(os.path.dirname(output_record) or ".", exist_ok=True)
        save_text(get_header_file(output_record), header)
        if signal is not None:
            save_signals(output_record, signal, [ln for ln in header.split("\n") if ln.startswith("#")])
        if labels is not None:
            save_labels(output_record, labels)

    if args.verbose:
        print(f"Done: {len(records) - failed} of {len(records)} records digitized.")
    return 0


if __name__ == "__main__":
    sys.exit(run(get_parser().parse_args(sys.argv[1:])))
