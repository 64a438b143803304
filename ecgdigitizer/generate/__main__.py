"""``python -m ecgdigitizer.generate -i RECORDS -o OUT --preset mixed --per-record K --seed S --workers N``"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from .config import PRESETS
from .dataset import generate


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ecgdigitizer.generate",
                                description="Render paper-ECG pages with ground truth from WFDB records.")
    p.add_argument("-i", "--input", required=True, help="folder of WFDB records (searched recursively)")
    p.add_argument("-o", "--output", required=True, help="folder for pages, records and ground truth")
    p.add_argument("--preset", default="mixed", choices=PRESETS)
    p.add_argument("--per-record", type=int, default=1, help="pages rendered from each record")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--limit", type=int, help="use only the first N records")
    p.add_argument("--layout", help="force one layout (e.g. 3x4+1, 6x2, 12x1)")
    p.add_argument("--dpi", type=float, help="force the resolution")
    a = p.parse_args(argv)
    overrides = {k: v for k, v in (("layout", a.layout), ("dpi", a.dpi)) if v is not None}
    done, errors = 0, []
    layouts: Counter[str] = Counter()
    for meta in generate(a.input, a.output, a.preset, a.per_record, a.seed, a.workers, a.limit,
                         overrides=overrides):
        if "error" in meta:
            errors.append(meta["error"])
        else:
            done += 1
            layouts[meta["layout"]] += 1
    for e in errors:
        print(f"skipped: {e}", file=sys.stderr)
    print(f"{done} pages written to {a.output} ({', '.join(f'{k}: {v}' for k, v in sorted(layouts.items()))}); "
          f"{len(errors)} records skipped")
    return 0 if done or not errors else 1


if __name__ == "__main__":
    sys.exit(main())
