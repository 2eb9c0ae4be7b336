"""Flame graphs drawn from py-spy's raw stacks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from bench.flame import parse, svg, write_svg

RAW = """\
process 1;main (bench/worker_proc.py:58);apply (store/sql.py:10) 30
process 1;main (bench/worker_proc.py:58);decide (domain/decider.py:5) 10
process 1;main (bench/worker_proc.py:58);select (selectors.py:468) 500
thread 2;_worker (concurrent/futures/thread.py:81) 200
not a stack line
"""


def test_only_busy_samples_are_counted() -> None:
    root = parse(RAW)
    assert root.value == 40
    main = root.children["process 1"].children["main (bench/worker_proc.py:58)"]
    assert main.value == 40
    assert {c.name: c.value for c in main.children.values()} == {
        "apply (store/sql.py:10)": 30,
        "decide (domain/decider.py:5)": 10,
    }


def test_the_svg_has_a_box_per_frame_sized_by_samples(tmp_path: Path) -> None:
    raw = tmp_path / "p.txt"
    raw.write_text(RAW + "a & <b>;c 5\n")
    out = write_svg(raw, tmp_path / "p.svg", "worker <decisions>")
    tree = ET.parse(out)
    ns = "{http://www.w3.org/2000/svg}"
    boxes = {
        g.find(f"{ns}title").text.split(" (")[0]: float(g.find(f"{ns}rect").get("width"))  # type: ignore[union-attr]
        for g in tree.iter(f"{ns}g")
    }
    assert boxes["all"] == 1200.0
    assert boxes["apply"] == 1200.0 * 30 / 45
    assert "a & <b>" in boxes
    assert "45 busy samples" in ET.tostring(tree.getroot(), encoding="unicode")


def test_an_empty_recording_still_draws() -> None:
    assert "0 busy samples" in svg(parse(""), "none")
