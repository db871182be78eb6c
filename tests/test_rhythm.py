"""The rhythm's pure parts: reading times, expanding recurrences, planned against held, phrasing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from assistant.journal.rhythm import (
    EXAMPLES,
    Plan,
    WhenError,
    local_zone,
    names_weekday,
    near,
    occurrences,
    parse_when,
    planned_vs_held,
    recurrence_rule,
    upcoming,
)
from assistant.session import phrasing

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN)  # a Tuesday


def plan(start: datetime, every: str | None = "week", minutes: float = 45, pid: int = 1, **kw) -> Plan:
    return Plan(id=pid, start=start, every=every, minutes=minutes, uid=f"p{pid}", **kw)


def starts(p: Plan, after: datetime, before: datetime) -> list[str]:
    return [o.start.isoformat() for o in occurrences(p, after, before)]


# ---- reading a time


@pytest.mark.parametrize("text,expected", [
    ("saturday 10:00", "2026-12-05T10:00:00+01:00"),
    ("sat 10am", "2026-12-05T10:00:00+01:00"),
    ("Sat, 7pm", "2026-12-05T19:00:00+01:00"),
    ("saturday at 10:30 pm", "2026-12-05T22:30:00+01:00"),
    ("tomorrow 9:00", "2026-12-02T09:00:00+01:00"),
    ("today noon", "2026-12-01T12:00:00+01:00"),
    ("2026-12-05 18:30", "2026-12-05T18:30:00+01:00"),
    ("tuesday 8:00", "2026-12-08T08:00:00+01:00"),   # today's 8:00 is past: next week
    ("tuesday 9:30", "2026-12-01T09:30:00+01:00"),   # today's 9:30 is still ahead
    ("2027-06-12 10:00", "2027-06-12T10:00:00+02:00"),  # summer time
])
def test_times_are_read_in_the_local_zone(text, expected):
    assert parse_when(text, NOW, BERLIN).isoformat() == expected


def test_the_same_words_mean_that_zones_wall_clock():
    now = datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)
    assert parse_when("saturday 10:00", now, NEW_YORK).isoformat() == "2026-12-05T10:00:00-05:00"


@pytest.mark.parametrize("text,reason", [
    ("saturday 7", "could be morning or evening"),
    ("12/05 10:00", "could be read more than one way"),
    ("05.12 10:00", "could be read more than one way"),
    ("saturday", "no time of day"),
    ("10:00", "say one day"),
    ("someday 10:00", "say one day"),
    ("sat sun 10:00", "more than one day"),
    ("next saturday 10:00", "'next' is neither a day nor a time"),
    ("tomorrow 24:00", "not a time of day"),
    ("tomorrow 13pm", "the hour is 1 to 12"),
    ("2026-02-30 10:00", "not a date"),
    ("2026-11-01 10:00", "is in the past"),
    ("today 8:00", "is in the past"),
    ("2027-03-28 02:30", "does not exist (the clocks go forward)"),
    ("2027-10-31 02:30", "happens twice (the clocks go back)"),
    ("", "it is empty"),
])
def test_bad_or_ambiguous_times_say_why_and_how_to_write_one(text, reason):
    with pytest.raises(WhenError) as err:
        parse_when(text, NOW, BERLIN)
    message = str(err.value)
    assert reason in message and EXAMPLES in message and "\n" not in message


def test_the_local_zone_comes_from_tz(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    assert local_zone().key == "America/New_York"
    monkeypatch.setenv("TZ", "Mars/Olympus_Mons")
    with pytest.raises(Exception, match="set TZ to a zone name"):
        local_zone()


# ---- recurrences


def test_weekly_keeps_the_wall_clock_across_the_daylight_saving_change():
    p = plan(datetime(2026, 10, 17, 10, 0, tzinfo=BERLIN))
    got = starts(p, datetime(2026, 10, 1, tzinfo=BERLIN), datetime(2026, 11, 8, tzinfo=BERLIN))
    assert got == ["2026-10-17T10:00:00+02:00", "2026-10-24T10:00:00+02:00",
                   "2026-10-31T10:00:00+01:00", "2026-11-07T10:00:00+01:00"]


def test_every_two_weeks_and_a_single_session():
    p = plan(datetime(2026, 12, 5, 10, 0, tzinfo=BERLIN), every="2weeks")
    assert starts(p, NOW, NOW + timedelta(days=33)) == [
        "2026-12-05T10:00:00+01:00", "2026-12-19T10:00:00+01:00", "2027-01-02T10:00:00+01:00"]
    once = plan(datetime(2026, 12, 5, 10, 0, tzinfo=BERLIN), every=None)
    assert starts(once, NOW, NOW + timedelta(days=300)) == ["2026-12-05T10:00:00+01:00"]
    assert recurrence_rule(once) is None


@pytest.mark.parametrize("day,expected", [
    (31, ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31"]),
    (30, ["2027-01-30", "2027-02-28", "2027-03-30", "2027-04-30", "2027-05-30"]),
    (29, ["2027-01-29", "2027-02-28", "2027-03-29", "2027-04-29", "2027-05-29"]),
    (15, ["2027-01-15", "2027-02-15", "2027-03-15", "2027-04-15", "2027-05-15"]),
])
def test_monthly_at_a_month_end_falls_on_the_last_day_of_a_shorter_month(day, expected):
    p = plan(datetime(2027, 1, day, 18, 30, tzinfo=BERLIN), every="month")
    got = [o.start for o in occurrences(p, NOW, datetime(2027, 6, 1, tzinfo=BERLIN))]
    assert [d.date().isoformat() for d in got] == expected
    assert {d.strftime("%H:%M") for d in got} == {"18:30"}


def test_monthly_on_the_29th_in_a_leap_year():
    p = plan(datetime(2028, 1, 29, 10, 0, tzinfo=BERLIN), every="month")
    got = [o.start.date().isoformat() for o in occurrences(p, NOW, datetime(2028, 4, 1, tzinfo=BERLIN))]
    assert got == ["2028-01-29", "2028-02-29", "2028-03-29"]


def test_a_recurrence_in_the_skipped_hour_moves_on_by_the_gap():
    # Sunday 02:30 weekly: on 2027-03-28 Berlin skips 02:00-03:00, so RFC 5545 gives 03:30
    p = plan(datetime(2027, 3, 21, 2, 30, tzinfo=BERLIN))
    got = starts(p, datetime(2027, 3, 20, tzinfo=BERLIN), datetime(2027, 4, 5, tzinfo=BERLIN))
    assert got == ["2027-03-21T02:30:00+01:00", "2027-03-28T03:30:00+02:00", "2027-04-04T02:30:00+02:00"]


def test_upcoming_merges_plans_and_a_removed_plan_stops():
    weekly = plan(datetime(2026, 12, 5, 10, 0, tzinfo=BERLIN))
    once = plan(datetime(2026, 12, 9, 18, 30, tzinfo=BERLIN), every=None, pid=2)
    assert [(o.plan.id, o.start.day) for o in upcoming([weekly, once], NOW)] == [(1, 5), (2, 9), (1, 12)]
    removed = plan(weekly.start, removed_at=datetime(2026, 12, 10, tzinfo=BERLIN))
    assert [o.start.day for o in upcoming([removed], NOW)] == [5]


def test_near_is_within_an_hour_either_side():
    p = plan(datetime(2026, 12, 5, 10, 0, tzinfo=BERLIN))
    assert near([p], datetime(2026, 12, 5, 9, 1, tzinfo=BERLIN)).start.hour == 10
    assert near([p], datetime(2026, 12, 5, 11, 0, tzinfo=BERLIN)) is not None
    assert near([p], datetime(2026, 12, 5, 11, 1, tzinfo=BERLIN)) is None
    assert near([p], datetime(2026, 12, 5, 8, 59, tzinfo=BERLIN)) is None


# ---- planned against held


def session(sid: int, when: datetime) -> dict:
    return {"id": sid, "started_at": when.astimezone(timezone.utc).isoformat(), "status": "done"}


def test_planned_vs_held_kept_moved_missed_pending_unplanned():
    p = plan(datetime(2026, 12, 5, 10, 0, tzinfo=BERLIN))
    held = [
        session(1, datetime(2026, 12, 5, 10, 40, tzinfo=BERLIN)),   # kept (+40 min)
        session(2, datetime(2026, 12, 13, 17, 0, tzinfo=BERLIN)),   # moved (the next day)
        session(3, datetime(2026, 12, 16, 20, 0, tzinfo=BERLIN)),   # unplanned (3+ days from any)
        session(4, datetime(2026, 12, 26, 9, 30, tzinfo=BERLIN)),   # kept, before the time
    ]
    # 12-19 has no session: missed; 01-02 is under two days old: pending
    result = planned_vs_held([p], held, datetime(2027, 1, 3, 12, 0, tzinfo=BERLIN))
    statuses = [(o["start"][:10], o["status"], o["session"], o["offset_minutes"]) for o in result.occurrences]
    assert statuses == [("2026-12-05", "kept", 1, 40), ("2026-12-12", "moved", 2, 1860),
                        ("2026-12-19", "missed", None, None), ("2026-12-26", "kept", 4, -30),
                        ("2027-01-02", "pending", None, None)]
    assert planned_vs_held([p], [*held, {"id": 9, "started_at": "not a time"}],
                           datetime(2027, 1, 3, 12, 0, tzinfo=BERLIN)).occurrences == result.occurrences
    summary = result.to_json()
    assert (summary["kept"], summary["moved"], summary["missed"], summary["pending"]) == (2, 1, 1, 1)
    assert summary["unplanned"] == [3]


def test_one_session_counts_for_one_planned_time_only():
    weekly = plan(datetime(2026, 12, 5, 10, 0, tzinfo=BERLIN))
    same_day = plan(datetime(2026, 12, 5, 18, 0, tzinfo=BERLIN), every=None, pid=2)
    result = planned_vs_held([weekly, same_day], [session(1, datetime(2026, 12, 5, 17, 30, tzinfo=BERLIN))],
                             datetime(2026, 12, 9, tzinfo=BERLIN))
    assert [(o["plan"], o["status"]) for o in result.occurrences] == [(1, "missed"), (2, "kept")]


# ---- what Duet says


def test_phrasing_of_the_schedule():
    sat = datetime(2026, 12, 5, 10, 0, tzinfo=BERLIN)
    assert phrasing.see_you(sat, NOW) == "See you Saturday at 10 a.m."
    assert phrasing.see_you(sat.replace(hour=18, minute=30), sat) == "See you later today at 6:30 p.m."
    assert phrasing.see_you(sat, sat - timedelta(days=1)) == "See you tomorrow at 10 a.m."
    assert phrasing.see_you(sat + timedelta(days=7), sat) == "See you next Saturday at 10 a.m."  # not today
    assert phrasing.see_you(sat + timedelta(days=7), sat + timedelta(days=1)) == "See you Saturday at 10 a.m."
    assert phrasing.see_you(sat + timedelta(days=14), sat) == "See you on Saturday, 19 December at 10 a.m."
    assert phrasing.see_you(sat.replace(hour=19), sat) == "See you later today at 7 p.m."  # not "at 19"
    assert [phrasing.clock_time(sat.replace(hour=h)) for h in (0, 12, 23)] == ["midnight", "noon", "11 p.m."]
    assert phrasing.planned_session(sat) == "This is your planned Saturday session."
    assert phrasing.starts_in(timedelta(minutes=9, seconds=59)) == "Your session starts in ten minutes."
    assert phrasing.starts_in(timedelta(minutes=1)) == "Your session starts in one minute."
    assert phrasing.starts_in(timedelta(seconds=10)) == "Your session starts now."


def test_the_engine_says_the_lines_it_is_given(tmp_path):
    from assistant.journal import Journal
    from assistant.session.clock import SimulatedClock
    from assistant.session.records import Rhythm
    from assistant.session.rehearsal import ScriptedPort
    from assistant.session.runner import new_session, run
    from tests.helpers import config

    rhythm = Rhythm(planned="This is your planned Saturday session.", next_planned="See you Saturday at 10 a.m.")
    clock = SimulatedClock()
    with Journal(tmp_path / "journal.json") as journal:
        engine = new_session(config(work={"minutes": 1}), journal, clock, rhythm)
        port = ScriptedPort([], clock)
        assert run(engine, port) == "done"
    said = [str(line["text"]) for line in port.transcript.lines if line["who"] == "Duet"]
    assert said[0].startswith("Welcome, Ana and Ben. This is your planned Saturday session. This session Ana leads")
    assert said[-1].endswith(". See you Saturday at 10 a.m.")
    assert any(f" {closing} See you" in said[-1] for closing in phrasing.CLOSINGS)


@pytest.mark.parametrize("first,expected", [
    (datetime(2026, 12, 12, 10, 0), ["2026-12-12", "2027-01-09", "2027-02-13", "2027-03-13", "2027-04-10"]),  # second Saturday
    (datetime(2027, 1, 30, 10, 0), ["2027-01-30", "2027-02-27", "2027-03-27", "2027-04-24"]),  # fifth: the last
])
def test_monthly_from_a_weekday_keeps_the_weekday_of_the_month(first, expected):
    """Found in a QA pass: 'saturday 10:00 --every month' went on by date (a Tuesday next)."""
    p = plan(first.replace(tzinfo=BERLIN), every="month", on_weekday=True)
    got = [o.start for o in occurrences(p, NOW, datetime(2027, 4, 30, tzinfo=BERLIN))]
    assert [d.date().isoformat() for d in got] == expected
    assert {d.strftime("%a %H:%M") for d in got} == {"Sat 10:00"}
    assert Plan.from_json(p.to_json()) == p
    assert names_weekday("Sat, 7pm") and not names_weekday("2027-06-05 18:30") and not names_weekday("tomorrow 9:00")
