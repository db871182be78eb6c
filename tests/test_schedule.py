"""``duet schedule``, ``duet remind`` and planned sessions, run as a user runs them (subprocesses).

The time zone is set explicitly (Europe/Berlin, which changes to winter time on 2026-10-25) and
"now" is injected with ``--now`` / ``DUET_NOW``, so nothing here depends on the machine's clock.
"""

from __future__ import annotations

import configparser
import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from click.testing import CliRunner

from assistant.cli.main import cli, main
from assistant.journal import Journal
from assistant.journal.rhythm import occurrences
from assistant.journal.schedule import Schedule, schedule_path
from assistant.session.records import Roles
from tests.helpers import SCRIPT
from tests.rig import ROOT

BERLIN = ZoneInfo("Europe/Berlin")


def duet(*args: str, now: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "TZ": "Europe/Berlin", **(env or {})}
    environ.pop("DUET_NOW", None)
    if now:
        environ["DUET_NOW"] = now
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          cwd=ROOT, env=environ, timeout=60)


@pytest.fixture
def journal(tmp_path: Path) -> str:
    return str(tmp_path / "data" / "journal.json")


@pytest.fixture
def quiet(tmp_path: Path) -> str:
    """A config with no speaker: reminders are printed (the voice is tested in test_voice)."""
    path = tmp_path / "quiet.yaml"
    path.write_text('listening:\n  output_device: "no such speaker"\n')
    return str(path)


def quick(*args: str, now: str | None = None) -> str:
    """In-process (click's runner) for steps that set a test up or are quick checks; each command
    under test also runs at least once as a subprocess, as a user runs it."""
    result = CliRunner().invoke(cli, list(args), env={"TZ": "Europe/Berlin", "DUET_NOW": now},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_one_minute_of_work_is_said_so(journal):
    out = quick("schedule", "add", "2027-01-30 18:30", "--minutes", "1", "--journal", journal, now="2026-12-01T09:00")
    assert ", 1 minute of work " in out  # it said "1 minutes"
    assert "), 1 minute of work" in quick("schedule", "--journal", journal, now="2026-12-01T09:00")


def test_add_list_remove_with_json_in_a_private_file(journal):
    out = ok(duet("schedule", "add", "saturday 10:00", "--every", "week", "--minutes", "60",
                  "--journal", journal, now="2026-12-01T09:00"))
    assert "Planned session 1: every Saturday at 10:00 from 2026-12-05, 60 minutes of work" in out
    added = json.loads(quick("schedule", "add", "2027-01-31 18:30", "--every", "month", "--json",
                             "--journal", journal, now="2026-12-01T09:00"))
    assert added["plan"]["every"] == "month" and added["plan"]["minutes"] == 45  # the config's work.minutes
    assert [o["start"][:10] for o in added["next"]] == ["2027-01-31", "2027-02-28", "2027-03-31"]

    plan = json.loads(ok(duet("schedule", "--json", "--journal", journal, now="2026-12-01T09:00")))
    assert plan["timezone"] == "Europe/Berlin" and [p["id"] for p in plan["plans"]] == [1, 2]
    assert [o["start"] for o in plan["next"]] == [
        "2026-12-05T10:00:00+01:00", "2026-12-12T10:00:00+01:00", "2026-12-19T10:00:00+01:00"]
    assert plan["next"][0]["end"] == "2026-12-05T11:15:00+01:00"  # work plus check-in and debrief
    table = ok(duet("schedule", "--journal", journal, now="2026-12-01T09:00"))
    assert "every month on the 31st (or the month's last day) at 18:30" in table
    monthly = quick("schedule", "add", "sat 7pm", "--every", "month", "--journal", journal, now="2026-12-01T09:00")
    assert "every month on the first Saturday at 19:00 from 2026-12-05" in monthly  # not "on the 5th"
    assert "Next: Sat 2026-12-05 19:00-20:00; Sat 2027-01-02 19:00-20:00; Sat 2027-02-06 19:00-20:00" in monthly
    quick("schedule", "remove", "3", "--journal", journal, now="2026-12-01T09:00")
    assert "Sat 2026-12-05 10:00-11:15" in table and "past" not in table

    path = schedule_path(Path(journal))
    assert path.name == "journal.schedule.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    assert "Removed planned session 2" in ok(duet("schedule", "remove", "2", "--journal", journal,
                                                  now="2026-12-01T09:00"))
    after = json.loads(quick("schedule", "--json", "--journal", journal, now="2026-12-01T09:00"))
    assert [p["id"] for p in after["plans"]] == [1]


def test_a_removed_plan_keeps_its_id_and_a_new_export_cancels_it(journal, tmp_path):
    """Found in a QA pass: a plan removed before its first session was deleted, so the next plan
    took its id, a second remove said it never existed, --json showed no removal, and once no plan
    was left no calendar could be exported: the phones kept the event."""
    now = "2026-12-01T09:00"
    quick("schedule", "add", "saturday 10:00", "--journal", journal, now=now)
    removed = json.loads(quick("schedule", "remove", "1", "--json", "--journal", journal, now=now))["removed"]
    assert removed["removed_at"].startswith("2026-12-01T09:00")
    again = duet("schedule", "remove", "1", "--journal", journal, now=now)
    assert again.returncode == 2 and "planned session 1 was removed already" in again.stderr
    assert json.loads(quick("schedule", "add", "sunday 10:00", "--json", "--journal", journal, now=now))["plan"]["id"] == 2
    quick("schedule", "remove", "2", "--journal", journal, now=now)
    printed = duet("schedule", "export", "-o", "-", "--journal", journal, now=now)  # stdout, not a file "-"
    assert printed.returncode == 0 and printed.stdout.startswith("BEGIN:VCALENDAR"), printed.stderr
    ics = tmp_path / "plan.ics"
    ok(duet("schedule", "export", "-o", str(ics), "--journal", journal, now=now))
    assert ics.read_text().count("STATUS:CANCELLED") == 2
    assert "No sessions planned. Plan one" in quick("schedule", "--journal", journal, now=now)


def test_a_plan_far_ahead_is_next_and_ends_after_its_length_across_a_clock_change(journal):
    """Found in a QA pass: a plan two years on was taken, then "No planned session is ahead" (the
    list looked 400 days ahead); a 01:30 session on the night the clocks go back was shown ending
    at 02:30 of the later hour, two real hours; and 2031-12-31 was within "5 years" of 2026-12-01."""
    now = "2026-12-01T09:00"
    far = json.loads(quick("schedule", "add", "2028-02-29 10:00", "--json", "--journal", journal, now=now))
    assert [o["start"] for o in far["next"]] == ["2028-02-29T10:00:00+01:00"]
    assert "Tue 2028-02-29 10:00-11:00" in quick("schedule", "--journal", journal, now=now)
    refused = duet("schedule", "add", "2031-12-31 10:00", "--journal", journal, now=now)
    assert refused.returncode == 2 and "more than 5 years away" in refused.stderr
    quick("schedule", "add", "2027-10-31 01:30", "--minutes", "75", "--journal", journal, now=now)
    night = json.loads(quick("schedule", "--json", "--journal", journal, now=now))["next"][0]
    assert (night["start"], night["end"]) == ("2027-10-31T01:30:00+02:00", "2027-10-31T02:00:00+01:00")  # 90 min
    # a session longer than the day says the day it ends
    assert "Sun 2027-10-31 23:30-Mon 00:30" in quick("schedule", "add", "2027-10-31 23:30", "--journal", journal, now=now)


@pytest.mark.parametrize("args,expected", [
    (["add", "saturday 7"], "could be morning or evening: write 7:00, 7am or 7pm"),
    (["add", "12/05 18:30"], "write dates as YYYY-MM-DD"),
    (["add", "2026-11-01 10:00"], "is in the past"),
    (["add", "9999-12-31 10:00"], "9999-12-31 is more than 5 years away"),  # was taken, then "Next: " with nothing
    (["add", "2027-03-28 02:30"], "does not exist (the clocks go forward)"),
    (["add", "next week"], "say one day"),
    (["add", "saturday 10:00", "--every", "fortnight"], "'fortnight' is not one of"),
    (["add", "saturday 10:00", "--minutes", "0"], "--minutes must be 1 to 1440"),
    (["add", "saturday 10:00", "--minutes", "1e-9"], "--minutes must be 1 to 1440"),  # "1e-09 minutes of work"
    (["add", "2026-12-12T10:00"], "write the date and the time apart, '2026-12-12 10:00'"),
    (["add", "sat midnight"], "'midnight' could begin or end that day"),
    (["remove", "abc"], "'abc' is not a plan id"),
    (["remove", "7"], "no planned session 7"),
    (["export"], "say where to export"),
    (["export", "-o", "plan.ics"], "no sessions are planned"),
    (["--now", "saturday"], "not an ISO time"),
])
def test_each_bad_input_is_one_line_with_exit_code_2(journal, tmp_path, monkeypatch, capsys, args, expected):
    # in-process through the real entry point (``main``), to keep this long list quick
    args = [str(tmp_path / a) if a.endswith(".ics") else a for a in args]
    monkeypatch.setenv("TZ", "Europe/Berlin")
    monkeypatch.setenv("DUET_NOW", "2026-12-01T09:00")
    monkeypatch.setattr(sys, "argv", ["duet", "schedule", *args, "--journal", journal])
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGXFSZ)}
    try:
        with pytest.raises(SystemExit) as exit:
            main()
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    err = capsys.readouterr().err
    assert exit.value.code == 2
    assert expected in err and len(err.strip().splitlines()) == 1
    if args[0] == "add" and "--every" not in args and "--minutes" not in args:
        assert "for example 'saturday 10:00'" in err  # shows how to write one
    assert not schedule_path(Path(journal)).exists()


def test_ics_reads_back_and_expands_like_duet_across_dst_and_month_ends(journal, tmp_path):
    now = "2026-10-01T09:00"
    quick("schedule", "add", "saturday 10:00", "--every", "week", "--minutes", "60", "--journal", journal, now=now)
    quick("schedule", "add", "2027-01-31 18:30", "--every", "month", "--journal", journal, now=now)
    quick("schedule", "add", "tomorrow 7pm", "--every", "2weeks", "--journal", journal, now=now)
    quick("schedule", "add", "2026-10-30 08:15", "--journal", journal, now=now)
    quick("schedule", "add", "friday 12:00", "--every", "month", "--journal", journal, now=now)  # first Fridays
    # Sunday 02:30: skipped on 2027-03-28 (clocks forward), twice on 2027-10-31 (clocks back)
    quick("schedule", "add", "2027-03-21 02:30", "--every", "week", "--journal", journal, now=now)
    quick("schedule", "remove", "3", "--journal", journal, now="2026-11-20T12:00")  # ends; its past stays
    ics = tmp_path / "duet.ics"
    ics.write_text("someone else's file")
    os.chmod(ics, 0o644)
    refused = duet("schedule", "export", "-o", str(ics), "--journal", journal, now="2026-12-01T09:00")
    assert refused.returncode == 2 and "add --force" in refused.stderr
    assert ics.read_text() == "someone else's file"  # found in a QA pass: it was replaced
    ok(duet("schedule", "export", "-o", str(ics), "--force", "--journal", journal, now="2026-12-01T09:00"))
    assert stat.S_IMODE(ics.stat().st_mode) == 0o600
    ok(duet("schedule", "export", "-o", str(ics), "--journal", journal, now="2026-12-01T09:00"))  # its own: updated
    other = str(tmp_path / "other" / "journal.json")  # another couple's plan: found in a QA pass replacing it
    quick("schedule", "add", "sunday 18:00", "--journal", other, now=now)
    refused = duet("schedule", "export", "-o", str(ics), "--journal", other, now="2026-12-01T09:00")
    assert refused.returncode == 2 and "add --force" in refused.stderr, refused.stderr

    cal = icalendar.Calendar.from_ical(ics.read_bytes())
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    plans = {p.uid: p for p in Schedule(schedule_path(Path(journal))).plans(include_removed=True)}
    assert set(events) == set(plans)
    for uid, event in events.items():
        assert event.decoded("DTSTART").tzinfo.key == "Europe/Berlin"
        assert event.decoded("DURATION") == plans[uid].length
        alarm = event.walk("VALARM")[0]
        assert alarm["ACTION"] == "DISPLAY" and alarm.decoded("TRIGGER").total_seconds() == -600
    weekly = events[next(uid for uid, p in plans.items() if p.every == "week" and p.start.hour == 10)]
    assert weekly["RRULE"] == {"FREQ": ["WEEKLY"]}
    assert weekly.decoded("DTSTART") == datetime(2026, 10, 3, 10, 0, tzinfo=BERLIN)

    start, end = datetime(2026, 9, 1, tzinfo=timezone.utc), datetime(2027, 12, 31, tzinfo=timezone.utc)
    theirs = sorted((str(e["UID"]), e.decoded("DTSTART").astimezone(timezone.utc))
                    for e in recurring_ical_events.of(cal).between(start, end))
    ours = sorted((p.uid, o.start.astimezone(timezone.utc)) for p in plans.values() for o in occurrences(p, start, end))
    assert theirs == ours
    night = {o.start.isoformat() for p in plans.values() if p.start.hour == 2 for o in occurrences(p, start, end)}
    assert {"2027-03-28T03:30:00+02:00", "2027-10-31T02:30:00+02:00"} <= night  # RFC 5545: on by the gap; the first
    assert len(ours) > 70
    local = {o.start.astimezone(BERLIN).strftime("%H:%M") for p in plans.values() if p.start.hour == 10
             for o in occurrences(p, start, end)}
    assert local == {"10:00"}  # the same wall-clock time in summer and in winter
    fridays = [o.start.date().isoformat() for p in plans.values() if p.on_weekday
               for o in occurrences(p, start, datetime(2027, 2, 1, tzinfo=timezone.utc))]
    assert fridays == ["2026-10-02", "2026-11-06", "2026-12-04", "2027-01-01"]
    month_ends = [o.start.date().isoformat() for p in plans.values() if p.every == "month" and not p.on_weekday
                  for o in occurrences(p, start, datetime(2027, 5, 1, tzinfo=timezone.utc))]
    assert month_ends == ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]
    removed = [o for p in plans.values() if p.every == "2weeks" for o in occurrences(p, start, end)]
    assert removed and max(o.start for o in removed) < datetime(2026, 11, 20, 12, tzinfo=BERLIN)


def test_remind_inside_and_outside_the_window_once_per_session(journal, quiet):
    quick("schedule", "add", "saturday", "10:00", "--every", "week", "--journal", journal, now="2026-12-01T09:00")  # unquoted: one WHEN
    remind = ("remind", "--config", quiet, "--journal", journal)
    assert quick(*remind, "--now", "2026-12-05T09:40") == ""  # twenty minutes ahead: nothing
    with Journal(Path(journal)) as running:  # a session is running: Duet does not talk over it
        running.begin(["Alex", "Sam"], Roles("Alex", "Sam"), "2026-12-05T08:45:00+00:00", 2700)
        assert quick(*remind, "--now", "2026-12-05T09:50") == ""
    inside = duet(*remind, "--now", "2026-12-05T09:50")
    assert ok(inside) == "Your session starts in ten minutes.\n"
    assert "printed instead of spoken" in inside.stderr  # no speaker: printed only
    assert quick(*remind, "--now", "2026-12-05T09:55") == ""  # already announced
    assert quick(*remind, "--now", "2026-12-05T10:01") == ""  # it has started
    later = json.loads(ok(duet(*remind, "--json", "--now", "2026-12-12T09:53")))
    assert later["reminder"] == "Your session starts in seven minutes."
    assert later["session"]["start"] == "2026-12-12T10:00:00+01:00"
    assert json.loads(quick(*remind, "--json", "--now", "2026-12-12T09:54")) == {"reminder": None}


def test_remind_with_no_schedule_is_silent_and_creates_nothing(tmp_path, quiet):
    journal = tmp_path / "j" / "journal.json"
    assert ok(duet("remind", "--config", quiet, "--journal", str(journal), "--now", "2026-12-05T09:50")) == ""
    assert not journal.parent.exists()


def test_systemd_units_parse_verify_and_run_duet_remind(journal, quiet, tmp_path):
    quick("schedule", "add", "2026-12-05 18:30", "--journal", journal, now="2026-12-01T09:00")
    units = tmp_path / "systemd" / "user"
    out = ok(duet("schedule", "export", "--systemd", str(units), "--config", quiet, "--journal", journal))
    assert "systemctl --user enable --now duet-remind.timer" in out
    assert stat.S_IMODE(units.stat().st_mode) == 0o700
    ok(duet("schedule", "export", "--systemd", str(units), "--config", quiet, "--journal", journal))  # the same
    edited = (units / "duet-remind.timer").read_text().replace("*:0/5", "*:0/10")
    (units / "duet-remind.timer").write_text(edited)
    refused = duet("schedule", "export", "--systemd", str(units), "--config", quiet, "--journal", journal)
    assert refused.returncode == 2 and "add --force" in refused.stderr
    assert "is Duet's, written for another journal or config or edited since" in refused.stderr  # not "not Duet's"
    assert (units / "duet-remind.timer").read_text() == edited
    ok(duet("schedule", "export", "--systemd", str(units), "--force", "--config", quiet, "--journal", journal))
    parsed = {}
    for name in ("duet-remind.service", "duet-remind.timer"):
        assert stat.S_IMODE((units / name).stat().st_mode) == 0o600
        parser = configparser.ConfigParser(interpolation=None, strict=True)
        parser.optionxform = str  # systemd keys are case-sensitive
        parser.read_string((units / name).read_text())
        parsed[name] = parser
    timer, service = parsed["duet-remind.timer"], parsed["duet-remind.service"]
    assert timer["Timer"]["OnCalendar"] == "*:0/5" and timer["Timer"]["Unit"] == "duet-remind.service"
    assert timer["Install"]["WantedBy"] == "timers.target"
    assert service["Service"]["Type"] == "oneshot"
    command = shlex.split(service["Service"]["ExecStart"])
    assert command[1:4] == ["-m", "assistant", "remind"] and Path(command[0]).exists()
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(["systemd-analyze", "verify", str(units / "duet-remind.timer"),
                                 str(units / "duet-remind.service")], capture_output=True, text=True, timeout=60)
        assert verify.returncode == 0, verify.stderr
    # the unit's own command line reminds (its clock injected through the environment)
    ran = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path,
                         env={**os.environ, "TZ": "Europe/Berlin", "DUET_NOW": "2026-12-05T18:20"})
    assert ran.returncode == 0 and ran.stdout == "Your session starts in ten minutes.\n", ran.stderr


def test_a_planned_session_takes_its_length_and_says_so_and_history_counts_it(journal, tmp_path):
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    quick("schedule", "add", "saturday 10:00", "--every", "week", "--minutes", "60", "--journal", journal,
          now="2026-12-01T09:00")
    planned = duet("rehearse", str(script), "--journal", journal, now="2026-12-05T10:20")
    out = ok(planned)
    assert "Welcome, Alex and Sam. This is your planned Saturday session." in out
    assert "The work phase starts now: 1 hour." in out
    assert "Well done. See you next Saturday at 10 a.m.\n" in out
    assert "planned for Saturday 10:00: 60 minutes of work" in planned.stderr
    # three days later, not near a planned time: the config's length, no planned line
    out = ok(duet("rehearse", str(script), "--journal", journal, "--work", "1", now="2026-12-08T19:00"))
    assert "This is your planned" not in out and "See you Saturday at 10 a.m." in out
    rows = json.loads(ok(duet("sessions", "--json", "--journal", journal)))
    assert [r["planned_work"] for r in rows] == [3600, 60]
    assert rows[0]["started_at"].startswith("2026-12-05T09:20")  # the injected clock, in UTC
    history = json.loads(ok(duet("schedule", "--history", "--json", "--journal", journal, now="2026-12-20T12:00")))
    assert (history["kept"], history["moved"], history["missed"]) == (1, 0, 1)
    assert history["unplanned"] == [2] and history["occurrences"][0]["offset_minutes"] == 20
    assert "Kept 1, moved 0, missed 1" in quick("schedule", "--history", "--journal", journal, now="2026-12-20T12:00")
    insights = json.loads(ok(duet("insights", "--json", "--journal", journal, now="2026-12-20T12:00")))
    assert (insights["planned"]["kept"], insights["planned"]["missed"], insights["planned"]["unplanned"]) == (1, 1, [2])
    text = ok(duet("insights", "--journal", journal, now="2026-12-20T12:00"))
    assert "kept 1, moved 0, missed 1" in text


def test_a_second_session_at_a_planned_time_already_kept_is_not_the_planned_one(journal, tmp_path):
    """Found in a QA pass: "This is your planned Saturday session" twice on one day; the history
    counts the second one unplanned."""
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    quick("schedule", "add", "saturday 10:00", "--every", "week", "--minutes", "60", "--journal", journal,
          now="2026-12-01T09:00")
    assert "This is your planned" in ok(duet("rehearse", str(script), "--journal", journal, now="2026-12-05T09:58"))
    again = duet("rehearse", str(script), "--journal", journal, now="2026-12-05T10:50")
    assert "This is your planned" not in ok(again) and "planned for Saturday" not in again.stderr
    assert "The work phase starts now: 45 minutes." in again.stdout  # the config's length, not the plan's
    history = json.loads(ok(duet("schedule", "--history", "--json", "--journal", journal, now="2026-12-06T12:00")))
    assert history["occurrences"][0]["session"] == 1 and history["unplanned"] == [2]


def test_a_one_off_plan_gone_by_says_so(journal):
    """Found in a QA pass: past one-off plans stayed in the list as if to come."""
    quick("schedule", "add", "2026-12-02 18:00", "--journal", journal, now="2026-12-01T09:00")
    assert "past" not in ok(duet("schedule", "--journal", journal, now="2026-12-01T09:00"))
    later = ok(duet("schedule", "--journal", journal, now="2026-12-03T09:00"))
    assert "Wednesday 2026-12-02 at 18:00 (Europe/Berlin), 45 minutes of work; past (see --history)" in later


def test_a_plan_that_clashes_from_the_start_is_refused(journal):
    """Found in a QA pass: Saturdays at 10:00 and 10:30 were both planned, and reminded twice.
    Plans that meet only now and then (monthly and fortnightly) are the couple's to move."""
    now = "2026-12-01T09:00"
    quick("schedule", "add", "saturday 10:00", "--every", "week", "--journal", journal, now=now)
    for clash in (["saturday 10:30", "--every", "week"], ["2027-01-02 10:45"]):
        result = duet("schedule", "add", *clash, "--journal", journal, now=now)
        assert result.returncode == 2 and "overlaps planned session 1" in result.stderr, result.stderr
    quick("schedule", "add", "saturday 11:00", "--every", "week", "--journal", journal, now=now)  # right after
    quick("schedule", "add", "2027-01-31 18:30", "--every", "month", "--journal", journal, now=now)
    quick("schedule", "add", "tomorrow 7pm", "--every", "2weeks", "--journal", journal, now=now)  # meets it in April


def test_options_given_before_the_subcommand_are_its_own(journal, tmp_path):
    """Found in a QA pass: `duet schedule --journal J add ...` saved the plan in the default
    journal, and `duet schedule --json add ...` printed text."""
    other = tmp_path / "default-home"
    out = duet("schedule", "--journal", journal, "--json", "add", "saturday 10:00", now="2026-12-01T09:00",
               env={"HOME": str(other), "XDG_DATA_HOME": str(other / "data")})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["plan"]["id"] == 1 and schedule_path(Path(journal)).exists()
    assert not other.exists()


def test_a_damaged_schedule_is_refused_but_does_not_stop_a_session(journal, tmp_path):
    path = schedule_path(Path(journal))
    path.parent.mkdir(mode=0o700)
    path.write_text('{"_duet": {"1": {"app": "duet", "schema": 1}}, "plans": {"1": {"start": "soon"}}}')
    before = path.read_bytes()
    listed = duet("schedule", "--journal", journal)
    assert listed.returncode == 2 and "planned session 1 is damaged" in listed.stderr
    assert len(listed.stderr.strip().splitlines()) == 1
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    session = duet("rehearse", str(script), "--journal", journal, "--work", "1")
    assert session.returncode == 0 and "the schedule is ignored for this session" in session.stderr
    insights = duet("insights", "--journal", journal)  # found in a QA pass: it refused them all
    assert insights.returncode == 0 and "Rhythm" in insights.stdout and "Plan section is left out" in insights.stderr
    assert path.read_bytes() == before
    # what is wrong is said in words, and what to do is about the schedule (a QA pass was told
    # "('timezone')", and for another program's file to pass another --journal)
    path.write_text('{"_duet": {"1": {"app": "duet", "schema": 1}}, "plans": {"1": {"start": "2026-12-05T10:00:00+01:00"}}}')
    assert "planned session 1 is damaged (its 'timezone' is missing)" in duet("schedule", "--journal", journal).stderr
    path.write_text('{"foo": 1}')
    foreign = duet("schedule", "--journal", journal).stderr
    assert "is not Duet's" in foreign and "to start a new schedule" in foreign and "--journal" not in foreign


@pytest.mark.audio
def test_remind_speaks_with_duets_voice(virtual_audio, journal, tmp_path):
    import wave

    import numpy as np
    import soxr

    from assistant.speech.voice import Voice
    from tests.test_mic import loud_seconds
    from tests.test_voice import _wait_for_more_audio, _wait_until_recording

    quick("schedule", "add", "2026-12-05 18:30", "--journal", journal, now="2026-12-01T09:00")
    recording = tmp_path / "heard.wav"
    recorder = virtual_audio.record_speaker(recording)
    _wait_until_recording(recording)
    result = duet("remind", "--journal", journal, "--now", "2026-12-05T18:20")
    _wait_for_more_audio(recording, seconds=0.5)
    recorder.terminate()
    recorder.wait(timeout=5)
    assert ok(result) == "Your session starts in ten minutes.\n" and "printed instead" not in result.stderr
    with wave.open(str(recording), "rb") as wav:
        heard = wav.readframes(wav.getnframes())
    samples, rate = Voice().render("Your session starts in ten minutes.")
    expected = soxr.resample(samples.astype(np.float32), rate, 16000).astype("<i2").tobytes()
    assert loud_seconds(heard) >= 0.8 * loud_seconds(expected) > 0.5


def test_a_plan_made_in_another_time_zone_says_its_zone(journal):
    """A QA pass read a plan made under UTC, listed under TZ=Europe/Berlin, as Berlin's 10:00."""
    now = "2026-12-01T09:00"
    ok(duet("schedule", "add", "saturday 10:00", "--journal", journal, now=now, env={"TZ": "UTC"}))
    assert "Sat 2026-12-05 10:00-11:00 UTC (UTC)" in quick("schedule", "--journal", journal, now=now)
    here = ok(duet("schedule", "--journal", journal, now=now, env={"TZ": "UTC"}))
    assert "Sat 2026-12-05 10:00-11:00\n" in here  # in its own zone, as written
