#!/usr/bin/env python
"""Score digitized records against references with the PhysioNet Challenge 2024 metric.

    python evaluate_model.py -d REFERENCE -o OUTPUTS [-s scores.txt] [-n] [-x] [-t per_lead.tsv]

Prints ``SNR: x.xxx`` and ``F-measure: x.xxx`` (``-x`` adds the extra metrics, ``-n`` turns the alignment off).
The metric itself lives in ``ecgdigitizer.metrics``.
"""

from __future__ import annotations

import argparse
import csv
import sys

from ecgdigitizer import metrics, records


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Evaluate Challenge outputs against reference records.")
    parser.add_argument("-d", "--input_folder", required=True, help="reference records")
    parser.add_argument("-o", "--output_folder", required=True, help="digitized records")
    parser.add_argument("-s", "--score_file", help="write the summary here instead of printing it")
    parser.add_argument("-n", "--no_alignment", action="store_true", help="score without the alignment step")
    parser.add_argument("-x", "--extra_scores", action="store_true", help="also KS, ASCI, weighted abs. difference")
    parser.add_argument("-t", "--table", help="write a per-record x per-lead SNR table (TSV) here")
    return parser


def summary(result: metrics.Evaluation, extra: bool) -> str:
    lines = [f"SNR: {result.mean('snr'):.3f}"]
    if extra:
        lines += [f"SNR (no alignment): {result.mean('snr_no_align'):.3f}",
                  f"SNR median: {result.mean('snr_median'):.3f}",
                  f"KS metric: {result.mean('ks'):.3f}",
                  f"ASCI metric: {result.mean('asci'):.3f}",
                  f"Weighted absolute difference metric: {result.mean('wad'):.3f}"]
    lines.append(f"F-measure: {result.f_measure:.3f}")
    return "\n".join(lines) + "\n"


def write_table(path: str, result: metrics.Evaluation) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["record", "lead", "snr", "snr_no_alignment", "lag_samples", "offset_mv",
                    "ks", "asci", "wad"])
        for s in result.leads:
            w.writerow([s.record, s.lead, f"{s.snr:.4f}", f"{s.snr_no_align:.4f}", s.lag, f"{s.offset:.4f}",
                        f"{s.ks:.4f}", f"{s.asci:.4f}", f"{s.wad:.4f}"])


def run(args: argparse.Namespace) -> int:
    try:
        result = metrics.evaluate_folders(args.input_folder, args.output_folder,
                                          align=not args.no_alignment, extra=args.extra_scores)
    except records.RecordError as e:
        print(f"evaluate_model.py: {e}", file=sys.stderr)
        return 1
    for problem in result.problems:
        print(f"evaluate_model.py: {problem}", file=sys.stderr)
    text = summary(result, args.extra_scores)
    if args.score_file:
        with open(args.score_file, "w") as f:
            f.write(text)
    else:
        print(text)
    if args.table:
        write_table(args.table, result)
    return 0


if __name__ == "__main__":
    sys.exit(run(get_parser().parse_args(sys.argv[1:])))
