"""How section 8 of the benchmark times Duet speaking over a partner who goes on (barge-in)."""

import sys

from tests.rig import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from bench_turns import both_loud  # noqa: E402

LOUD = 300.0


def _windows(offset, levels):
    """``Recorder.windows`` of a recording whose sample clock starts at ``offset``."""
    return [(offset + (i + 1) * 0.01, level) for i, level in enumerate(levels)]


def test_only_the_time_both_are_loud_counts_not_a_later_question_in_a_pause():
    # the partner goes on at 1.0 s and speaks 1.0 s, pauses 1.0 s, speaks again 1.0 s
    partner = _windows(0.003, [0] * 100 + [900] * 100 + [0] * 100 + [900] * 100)
    # Duet's question runs 0.4 s into the partner's going on (stopped), and a later one is
    # asked into the partner's pause, ending just as they speak again
    duet = _windows(0.0, [0] * 50 + [2000] * 90 + [0] * 110 + [2000] * 50 + [0] * 100)
    assert abs(both_loud(duet, partner, 1.0, 4.0, LOUD) - 0.4) < 0.015


def test_quiet_windows_and_time_outside_the_span_do_not_count():
    partner = _windows(0.006, [900] * 300)
    duet = _windows(0.0, [2000] * 100 + [100] * 100 + [2000] * 100)
    assert abs(both_loud(duet, partner, 0.5, 2.5, LOUD) - 1.0) < 0.015
    assert both_loud(duet, partner, 1.1, 1.9, LOUD) == 0.0
