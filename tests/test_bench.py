"""The benchmark script keeps working: ``scripts/bench.py --quick`` measures every section.

No timing is asserted here (the machine is shared and its speed varies): only that each of the
eight sections was measured and reports figures, and that the run itself succeeded.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.rig import ROOT

pytestmark = [pytest.mark.audio, pytest.mark.slow]

SECTIONS = {
    1: "Recognition speed",
    2: "Accuracy on real recorded speech",
    3: "Command spotting",
    4: "Latency through the real audio path",
    5: "Cost of listening",
    6: "Journal",
    7: "Timekeeping",
    8: "Turn-taking",
}


def _measure_rows(body: str) -> list[list[str]]:
    """Rows of the section's first table (measure | target | measured | result)."""
    rows = []
    in_table = False
    for line in body.splitlines():
        if line.startswith("| measure | target | measured | result |"):
            in_table = True
            continue
        if in_table:
            if not line.startswith("|"):
                break
            if line.startswith("|---"):
                continue
            rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_quick_benchmark_reports_every_section_with_figures(tmp_path):
    report, raw = tmp_path / "BENCH.md", tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--output", str(report), "--json", str(raw)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    text = report.read_text()
    assert "**ERROR**" not in text and "Not measured" not in text, text
    assert re.search(r"\| CPU \| .+ \(\d+ cores", text), "the machine is described"
    bodies = {int(m.group(1)): m.group(2) for m in re.finditer(r"^## (\d)\. [^\n]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)}
    assert sorted(bodies) == sorted(SECTIONS)
    for number, title in SECTIONS.items():
        assert f"## {number}. {title}" in text
        rows = _measure_rows(bodies[number])
        assert rows, f"section {number} has no measures"
        measured = [r[2] for r in rows if len(r) == 4]
        assert any(re.search(r"\d", cell) for cell in measured), f"section {number} reports no figure: {rows}"
        assert all(r[3] in ("pass", "**MISS**", "info", "n/a") for r in rows if len(r) == 4), rows
    data = json.loads(raw.read_text())
    assert data["quick"] is True
    assert sorted(s["number"] for s in data["sections"]) == sorted(SECTIONS)
    assert not any(s["error"] for s in data["sections"])


def test_a_report_path_in_a_missing_folder_is_refused_before_measuring(tmp_path):
    missing = tmp_path / "no-such-folder" / "BENCH.md"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench.py"), "--only", "3", "--output", str(missing)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)

    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"bench: no folder {missing.parent} for BENCH.md: create it or "
                                                "choose another path"]
    assert not missing.parent.exists()
