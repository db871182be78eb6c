from assistant.session.timer import WorkTimer


def timer(minutes=45, halfway=True, left=(10, 2)):
    t = WorkTimer(length=minutes * 60, announce_halfway=halfway, announce_remaining=tuple(m * 60 for m in left))
    t.start(100.0)
    return t


def run_to_end(t, start=100.0):
    """Jump from milestone to milestone as a runner would; returns (time, key) pairs."""
    now, seen = start, []
    while (at := t.next_due_at(now)) is not None:
        now = at
        seen += [(now - start, m.key) for m in t.due(now)]
    return seen


def test_milestones_fall_exactly_on_schedule():
    assert run_to_end(timer()) == [(1350.0, "halfway"), (2100.0, "left-600"), (2580.0, "left-120"), (2700.0, "time-up")]


def test_nothing_is_due_before_its_time():
    t = timer()
    assert t.due(100.0 + 1349.999) == []
    assert [m.key for m in t.due(100.0 + 1350.0)] == ["halfway"]


def test_a_late_tick_reports_every_missed_milestone_once_in_order():
    t = timer()
    assert [m.key for m in t.due(100.0 + 2600)] == ["halfway", "left-600", "left-120"]
    assert t.due(100.0 + 2650) == []


def test_pause_stops_the_clock_and_moves_milestones():
    t = timer()
    t.pause(100.0 + 600)
    assert t.next_due_at(100.0 + 900) is None
    assert t.due(100.0 + 5000) == []
    t.resume(100.0 + 900)  # five minutes paused
    assert t.remaining(100.0 + 900) == 2100.0
    assert t.next_due_at(100.0 + 900) == 100.0 + 1350 + 300


def test_adding_minutes_gives_the_warnings_it_puts_ahead_again_but_not_halfway():
    """Found in a QA pass: "2 minutes left", then ten minutes added, and time up came with no
    warning; sixty added at halfway left an hour without one."""
    t = timer(minutes=20, halfway=False, left=(10,))
    assert [m.key for m in t.due(100.0 + 600)] == ["left-600"]
    t.extend(5 * 60)
    assert t.remaining(100.0 + 600) == 900.0
    assert t.next_due_at(100.0 + 600) == 100.0 + 900
    assert run_to_end(t, 100.0 + 600) == [(300.0, "left-600"), (900.0, "time-up")]
    long = timer(minutes=12)
    assert [m.key for m in long.due(100.0 + 400)] == ["left-600", "halfway"]
    long.extend(3600)
    assert run_to_end(long, 100.0 + 400) == [(3320.0, "left-600"), (3800.0, "left-120"), (3920.0, "time-up")]


def test_milestones_longer_than_the_phase_are_skipped():
    assert run_to_end(timer(minutes=5)) == [(150.0, "halfway"), (180.0, "left-120"), (300.0, "time-up")]


def test_resumed_timer_counts_work_already_done():
    t = WorkTimer(length=600, announce_halfway=True, elapsed_before=400, announced={"halfway"})
    t.start(0.0)
    assert t.remaining(0.0) == 200
    assert [m.key for m in t.due(200.0)] == ["time-up"]


def test_added_time_brings_back_a_milestone_that_lay_beyond_the_start():
    """A 10-minute phase never says "10 minutes left"; with five minutes added a minute in, it
    does, when 10 minutes are left (it was once skipped for good at the start)."""
    t = timer(minutes=10, halfway=False)
    assert t.due(100.0 + 60) == []
    t.extend(300)
    assert t.next_due_at(100.0 + 60) == 100.0 + 300
    assert t.due(100.0 + 299) == [] and [m.key for m in t.due(100.0 + 300)] == ["left-600"]


def test_a_change_of_length_never_makes_a_milestone_due_by_itself():
    """Only the clock passing a milestone makes it due: added time that is taken back ("cancel
    that") does not pass "10 minutes left" by itself, nor does time added with two minutes left."""
    t = timer(minutes=10, halfway=False)
    t.due(100.0 + 60)
    t.extend(300)
    t.due(100.0 + 70)
    t.extend(-300)
    assert t.due(100.0 + 80) == []
    said = timer(minutes=10, halfway=False)
    assert [m.key for m in said.due(100.0 + 480)] == ["left-120"]
    said.extend(300)
    said.extend(-300)  # added, then taken back ("cancel that"): "2 minutes left" is not said twice
    assert run_to_end(said, 100.0 + 490) == [(110.0, "time-up")]
    late = timer(minutes=10, halfway=False)
    assert [m.key for m in late.due(100.0 + 500)] == ["left-120"]
    late.extend(300)  # 400 s left: "10 minutes left" lies behind; "2 minutes left" comes again
    assert run_to_end(late, 100.0 + 520) == [(260.0, "left-120"), (380.0, "time-up")]


def test_a_milestone_passed_between_two_looks_is_still_due():
    """A command handled just after a milestone's time moves the next look on: the milestone
    passed meanwhile is due at once, not dropped (it once was, when only those still ahead of
    the time left were kept)."""
    t = timer(minutes=10, halfway=False)
    assert t.due(100.0 + 470) == []  # 130 s left: "2 minutes left" comes in 10 s
    assert t.next_due_at(100.0 + 481) == 100.0 + 481  # a command at 119 s left: due now
    assert [m.key for m in t.due(100.0 + 481)] == ["left-120"]
