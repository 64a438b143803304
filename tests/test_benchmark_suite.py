"""The benchmark suite's page cache follows the generator: pages drawn by another version are drawn again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import suite
from ecgdigitizer.generate import GENERATOR_VERSION


def test_pages_of_another_generator_version_are_drawn_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suite, "CACHE", tmp_path)
    monkeypatch.setattr(suite, "CATEGORIES", {"clean 200 dpi": suite.CATEGORIES["clean 200 dpi"]})
    folder = suite.build(1)["clean 200 dpi"]
    done = folder / "done.json"
    assert json.loads(done.read_text())["generator"] == GENERATOR_VERSION
    assert len(list((folder / "pages").glob("*.png"))) == 1
    marker = folder / "pages" / "marker"

    marker.write_text("")
    suite.build(1)
    assert marker.exists()  # the same version: the cache stands

    done.write_text(json.dumps({**json.loads(done.read_text()), "generator": "0.9"}))
    suite.build(1)
    assert not marker.exists()  # another version: drawn again, and marked with this one
    assert json.loads(done.read_text())["generator"] == GENERATOR_VERSION
    assert len(list((folder / "pages").glob("*.png"))) == 1

    marker.write_text("")
    done.write_text(json.dumps({k: v for k, v in json.loads(done.read_text()).items() if k != "generator"}))
    suite.build(1)
    assert marker.exists() == (GENERATOR_VERSION == "1.0")  # caches from before the mark were all drawn by 1.0


def test_detection_score_pairs_as_many_boxes_as_overlap_allows() -> None:
    """True boxes of tall neighbouring traces overlap: returned box a fits I and II, b only II. Pairing the best
    IoU first gives a to II and leaves I unpaired; the score pairs both, each with its own lead."""
    from types import SimpleNamespace

    from benchmarks.detect import score
    from ecgdigitizer.types import Box

    truth = [Box(0, 0, 100, 100, "I"), Box(0, 20, 100, 120, "II")]
    got = [Box(0, 15, 100, 115), Box(0, 40, 100, 140)]  # IoU: a-II 0.90, a-I 0.74, b-II 0.67, b-I 0.43
    boxes = [SimpleNamespace(box=g, cell=SimpleNamespace(lead=lead)) for g, lead in zip(got, ("I", "II"))]
    layout = SimpleNamespace(layout=SimpleNamespace(name="3x4"), boxes=boxes)
    t = score(layout, truth, "3x4", 0.1)  # type: ignore[arg-type]
    assert (t.matched, t.named, t.returned, t.layout_ok) == (2, 2, 2, 1)
