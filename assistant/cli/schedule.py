"""``duet schedule`` and ``duet remind``: protected session times, in Duet and in calendars.

The commands are built by ``commands(common_options, json_option)`` so that they share the
options of every other command without importing ``main`` (which registers them with
``cli.add_command``). ``session_rhythm`` is what ``duet run`` and ``duet rehearse`` ask before a
session: the planned length, and the lines that say the session was planned and when the next
one is.

The time: every command here reads "now" from ``--now`` (hidden), else the ``DUET_NOW``
environment variable (ISO 8601; both exist so tests and rehearsals can stand on any day), else
the system clock, in the local time zone (``TZ``, else the system's).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import click
from click.core import ParameterSource

from assistant.config import Config
from assistant.errors import DuetError, os_error
from assistant.journal import Journal
from assistant.journal.journal import journal_file
from assistant.journal.export import write_private
from assistant.journal.rhythm import (
    EVERY,
    NEAR,
    Occurrence,
    Plan,
    PlannedVsHeld,
    instant,
    local_zone,
    names_weekday,
    near,
    occurrences,
    parse_when,
    planned_vs_held,
    upcoming,
    week_of_month,
)
from assistant.journal.schedule import Schedule, schedule_path
from assistant.journal.storage import private_dir
from assistant.session import phrasing
from assistant.session.records import Rhythm, SessionStatus, was_held

log = logging.getLogger(__name__)

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

REMIND_WITHIN = timedelta(minutes=10, seconds=30)
"""``duet remind`` speaks when a planned session starts within this (ten minutes, and a little
for a timer that fires late)."""

TIMER_EVERY_MINUTES = 5
"""How often the exported systemd timer runs ``duet remind``: on the clock's five-minute marks,
so a session planned on one (10:00, 18:30) is announced exactly ten minutes before."""

UNIT = "duet-remind"
HEAD_SIZE = 4096
"""How much of an existing file is read to tell whether Duet wrote it (a unit is shorter)."""


# ---- time


def wall_now(override: str | None = None) -> datetime:
    """Now, in the local zone: ``override`` or ``DUET_NOW`` (ISO 8601) when given."""
    zone = local_zone()
    text = override or os.environ.get("DUET_NOW")
    if not text:
        return datetime.now(zone)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise DuetError(f"--now / DUET_NOW '{text}' is not an ISO time: write it like 2026-12-05T09:50") from None
    return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)


# ---- what a session needs from the schedule


def session_rhythm(config: Config, journal_path: Path, work_minutes: float | None,
                   now: datetime | None = None) -> tuple[Config, Rhythm | None]:
    """The config for a new session (``--work``, else the planned length when a planned session
    starts within ``rhythm.NEAR`` of now) and what the session says about the schedule.

    A schedule that cannot be read does not stop a session: it is named on stderr and ignored.
    """
    if work_minutes is not None:
        config = config.with_work_minutes(work_minutes)
    try:
        plans = Schedule(schedule_path(journal_path)).plans()
    except DuetError as err:
        click.echo(f"duet: the schedule is ignored for this session: {err}", err=True)
        return config, None
    if not plans:
        return config, None
    now = now or wall_now()
    current = near(plans, now)
    if current is not None and _kept_before(current, journal_path, now):
        current = None  # a second session that day is not the planned one (history: unplanned)
    if current is not None and work_minutes is None:
        config = config.with_work_minutes(current.plan.minutes)
        click.echo(f"duet: this is the session planned for {current.start:%A %H:%M}: "
                   f"{_of_work(current.plan.minutes)} (--work changes it)", err=True)
    following = [o for o in upcoming(plans, now, count=2) if not _same(o, current)]
    return config, Rhythm(
        planned=phrasing.planned_session(current.start) if current else None,
        next_planned=phrasing.see_you(following[0].start, now.astimezone(following[0].start.tzinfo))
        if following else None,
    )


def _kept_before(planned: Occurrence, journal_path: Path, now: datetime) -> bool:
    """Whether a session held before ``now`` already kept this planned time (started within
    ``NEAR`` of it), as the history counts it: a QA pass heard "This is your planned Saturday
    session" twice on one day."""
    if not journal_file(journal_path).exists():  # reading a journal that is not there creates it
        return False
    with Journal(journal_path) as journal:
        starts = [instant(s.get("started_at")) for s in journal.list_sessions() if was_held(s)]
    return any(at is not None and at < now and abs(at - planned.start) <= NEAR for at in starts)


def _same(a: Occurrence, b: Occurrence | None) -> bool:
    return b is not None and a.plan.id == b.plan.id and a.start == b.start


# ---- remind


def due_reminder(schedule: Schedule, journal_path: Path, now: datetime) -> Occurrence | None:
    """The planned session starting within ``REMIND_WITHIN`` that was not announced yet; None
    while a session is running (the couple has started: Duet must not talk over it)."""
    if not schedule.path.exists():
        return None
    soon = sorted((o for p in schedule.plans() for o in occurrences(p, now, now + REMIND_WITHIN)),
                  key=lambda o: o.start)
    due = next((o for o in soon if not schedule.was_reminded(o)), None)
    if due is not None and journal_path.exists():
        with Journal(journal_path) as journal:
            if any(s["status"] == SessionStatus.IN_PROGRESS.value for s in journal.list_sessions()):
                log.info("a session is running: no reminder")
                return None
    return due


def _speak(config: Config, text: str) -> None:
    """Say it with Duet's voice; printed only when there is no speaker."""
    from assistant.speech.live import open_speaker
    from assistant.speech.voice import Voice

    speaker = open_speaker(config)
    if speaker is not None:
        voice = Voice(config.voice.name, rate=config.voice.rate, volume=config.voice.volume)
        speaker.play(*voice.render(text))


# ---- describing plans


def describe(plan: Plan) -> str:
    """'every Saturday at 10:00 from 2026-12-05', 'Friday 2026-12-11 at 18:30'."""
    start = plan.start
    at = f"at {start:%H:%M}"
    if plan.every is None:
        return f"{start:%A %Y-%m-%d} {at}"
    if plan.every == "week":
        when = f"every {start:%A}"
    elif plan.every == "2weeks":
        when = f"every other {start:%A}"
    elif plan.on_weekday:
        nth = week_of_month(start.date())
        when = f"every month on the {'last' if nth < 0 else _NTH[nth]} {start:%A}"
    else:
        when = f"every month on the {_ordinal(start.day)}" + (" (or the month's last day)" if start.day > 28 else "")
    return f"{when} {at} from {start:%Y-%m-%d}"


_NTH = {1: "first", 2: "second", 3: "third", 4: "fourth"}


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _slot(o: Occurrence) -> str:
    """'Sat 2026-12-12 10:00-11:15'; an end on another day says which ('23:30-Sun 00:45'); a plan
    made in another time zone than the one Duet runs in now says its zone (a QA pass read a UTC
    plan's 10:00 as Berlin's)."""
    end = f"{o.end:%H:%M}" if o.end.date() == o.start.date() else f"{o.end:%a %H:%M}"
    if o.end - o.start >= timedelta(days=1):
        end = f"{o.end:%a %Y-%m-%d %H:%M}"
    try:
        elsewhere = o.plan.zone.key != local_zone().key
    except DuetError:
        elsewhere = True
    return f"{o.start:%a %Y-%m-%d %H:%M}-{end}" + (f" {o.start:%Z} ({o.plan.zone.key})" if elsewhere else "")


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


DUET_MARKS = ("Description=Duet:", "PRODID:-//Duet//")
"""What Duet's own units and calendars hold: such a file written for another journal is named so."""


def _may_replace(path: Path, force: bool, ours: Callable[[str], bool], elsewhere: str) -> None:
    """Refuse to replace an existing file unless ``ours`` says of its text that Duet wrote it as
    it is (an older calendar of the plan, the very same unit), or ``force``: a QA pass had an
    export to the wrong name replace a text file, and one replace a unit the user had edited."""
    if not force and path.is_file() and not ours(head := _head(path)):
        what = ("is Duet's, written for another journal or config or edited since" if any(mark in head for mark in DUET_MARKS)
                else "exists and is not what Duet would write there")  # a QA pass was told Duet had not written it
        raise DuetError(f"{path} {what}: add --force to replace it, or choose another {elsewhere}")


def _write_private(path: Path, text: str) -> None:
    """Calendars are as private as the journal: created 0600 (an existing file is made 0600)."""
    try:
        write_private(path, text, newline="")
    except OSError as err:  # what went wrong and what to do ("its folder does not exist: create it ...")
        raise os_error(OSError(err.errno, err.strerror, str(path))) from None


def _text(path: Path, most: int = 1 << 20) -> str:
    """A file's text, up to ``most`` characters ("" when it cannot be read as text)."""
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as handle:
            return handle.read(most)
    except OSError:
        return ""


def _head(path: Path) -> str:
    """The start of a file, enough to tell whose it is."""
    return _text(path, HEAD_SIZE)


# ---- systemd


def systemd_units(journal_path: Path, config_path: Path | None) -> dict[str, str]:
    """A user service that runs ``duet remind`` once, and a timer that starts it every five minutes."""
    command = [sys.executable, "-m", "assistant", "remind", "--journal", str(journal_path.resolve())]
    if config_path is not None:
        command += ["--config", str(Path(config_path).resolve())]
    service = (
        "[Unit]\n"
        "Description=Duet: say when a planned session starts in ten minutes\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"ExecStart={' '.join(_systemd_quote(part) for part in command)}\n"
    )
    timer = (
        "[Unit]\n"
        "Description=Duet: look for a planned session every five minutes\n\n"
        "[Timer]\n"
        f"OnCalendar=*:0/{TIMER_EVERY_MINUTES}\n"
        "AccuracySec=1s\n"
        f"Unit={UNIT}.service\n\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    return {f"{UNIT}.service": service, f"{UNIT}.timer": timer}


def _systemd_quote(word: str) -> str:
    """One ExecStart argument: specifiers (%) and variables ($) escaped, quoted if needed."""
    word = word.replace("%", "%%").replace("$", "$$")
    if re.fullmatch(r"[\w@%+=:,./-]+", word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---- the commands


def commands(common_options: Decorator, json_option: Decorator) -> list[click.Command]:
    """``duet schedule`` (with add, remove, export) and ``duet remind``, sharing ``main``'s options."""

    now_option = click.option("--now", "now_text", default=None, hidden=True,
                              help="Pretend it is this ISO time (tests, rehearsals).")

    @click.group(name="schedule", invoke_without_command=True)
    @click.option("--history", is_flag=True, help="Planned sessions so far: kept, moved or missed.")
    @now_option
    @common_options
    @json_option
    @click.pass_context
    def schedule(ctx: click.Context, history: bool, now_text: str | None, config: Config,
                 journal_path: Path, as_json: bool) -> None:
        """The planned sessions and the next three (subcommands: add, remove, export)."""
        if ctx.invoked_subcommand is not None:
            # options given before the subcommand are its own ("duet schedule --journal J add ..."):
            # a QA pass found such a plan saved in the default journal, and --json ignored
            given = {name: value for name, value in ctx.params.items()
                     if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE and name != "history"}
            ctx.default_map = {name: given for name in schedule.commands}
            return
        now = wall_now(now_text)
        if history:
            _show_history(journal_path, now, as_json)
        else:
            _show_plan(Schedule(schedule_path(journal_path)), now, as_json)

    @schedule.command(name="add")
    @click.argument("when", nargs=-1, required=True)
    @click.option("--every", type=click.Choice(EVERY), default=None, help="Repeat every week, two weeks or month.")
    @click.option("--minutes", type=float, default=None,
                  help="Work-phase length of the planned session, 1 to 1440 (default: the config's work.minutes).")
    @now_option
    @common_options
    @json_option
    def add(when: tuple[str, ...], every: str | None, minutes: float | None, now_text: str | None, config: Config,
            journal_path: Path, as_json: bool) -> None:
        """Plan a session: WHEN is like 'saturday 10:00', 'sat 7pm', 'tomorrow 9:00', '2027-06-05 18:30'
        (quotes optional)."""
        minutes = config.work.minutes if minutes is None else minutes
        if not 1 <= minutes <= 24 * 60:  # 1e-9 was planned as "1e-09 minutes of work" (a QA pass)
            raise DuetError(f"--minutes must be 1 to 1440 (the work-phase length), got {minutes:g}")
        now = wall_now(now_text)
        start = parse_when(" ".join(when), now, now.tzinfo)  # type: ignore[arg-type]
        store = Schedule(schedule_path(journal_path))
        plan = store.add(start, every, minutes, on_weekday=names_weekday(" ".join(when)))
        following = upcoming([plan], now, count=3)
        if as_json:
            _print_json({"plan": plan.to_json(), "next": [o.to_json() for o in following]})
            return
        click.echo(f"Planned session {plan.id}: {describe(plan)}, {_of_work(minutes)} "
                   f"(times in {plan.zone.key}; saved in {store.path}).")
        click.echo("Next: " + "; ".join(_slot(o) for o in following))

    @schedule.command(name="remove")
    @click.argument("plan_id", metavar="ID")
    @now_option
    @common_options
    @json_option
    def remove(plan_id: str, now_text: str | None, config: Config, journal_path: Path, as_json: bool) -> None:
        """Stop planning a session (ID from `duet schedule`); sessions already past still count."""
        try:
            number = int(plan_id)
        except ValueError:
            raise DuetError(f"'{plan_id}' is not a plan id: use a number from `duet schedule`") from None
        plan = Schedule(schedule_path(journal_path)).remove(number, wall_now(now_text))
        if as_json:
            _print_json({"removed": plan.to_json()})
        else:
            click.echo(f"Removed planned session {plan.id} ({describe(plan)}).")

    @schedule.command(name="export")
    @click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
                  help="iCalendar file to write (e.g. duet.ics) for your phone calendars.")
    @click.option("--systemd", "systemd_dir", type=click.Path(path_type=Path), default=None,
                  help="Folder for a user timer and service that run `duet remind` (~/.config/systemd/user).")
    @click.option("--force", is_flag=True, help="Replace files that Duet did not write as they are.")
    @now_option
    @common_options
    @json_option
    def export(output: Path | None, systemd_dir: Path | None, force: bool, now_text: str | None, config: Config,
               journal_path: Path, as_json: bool) -> None:
        """Write the plan as an iCalendar file (-o), or reminder units for systemd (--systemd)."""
        if output is None and systemd_dir is None:
            raise DuetError("say where to export: -o FILE.ics (a calendar) or --systemd DIR (reminder timer)")
        if str(output) == "-" and as_json:
            raise DuetError("-o - prints the calendar itself: leave out --json, or write it to a file")
        written: list[str] = []
        if output is not None:
            from assistant.journal.ics import calendar, written_for

            plans = Schedule(schedule_path(journal_path)).plans(include_removed=True)
            if not plans:
                raise DuetError("no sessions are planned, so there is nothing to export: "
                                "plan one with duet schedule add 'saturday 10:00' --every week")
            text = calendar(plans, config.partners, wall_now(now_text)).to_ical().decode("utf-8")
            if str(output) == "-":  # the calendar on stdout, not a file named "-" (a QA pass)
                click.echo(text, nl=False)
            else:
                _may_replace(output, force, lambda _: written_for(_text(output), plans), "file with -o")
                _write_private(output, text)
                written.append(str(output))
        if systemd_dir is not None:
            config_path = click.get_current_context().params.get("config_path")
            written += _write_units(systemd_dir, systemd_units(journal_path, config_path), force)
        if as_json:
            _print_json({"written": written})
            return
        for path in written:
            click.echo(f"Wrote {path}")
        if systemd_dir is not None:
            click.echo(f"Turn reminders on with: systemctl --user daemon-reload && "
                       f"systemctl --user enable --now {UNIT}.timer (the folder must be ~/.config/systemd/user)")

    @click.command(name="remind")
    @now_option
    @common_options
    @json_option
    def remind(now_text: str | None, config: Config, journal_path: Path, as_json: bool) -> None:
        """Say "Your session starts in ten minutes" when a planned session is that close; else nothing.

        Run it every few minutes from cron or a systemd timer (`duet schedule export --systemd`).
        """
        now = wall_now(now_text)
        store = Schedule(schedule_path(journal_path))
        due = due_reminder(store, journal_path, now)
        if due is None or not store.mark_reminded(due, now):
            if as_json:
                _print_json({"reminder": None})
            return
        text = phrasing.starts_in(due.start - now)
        if as_json:
            _print_json({"reminder": text, "session": due.to_json()})
        else:
            click.echo(text)
        _speak(config, text)

    return [schedule, remind]


def _write_units(folder: Path, units: dict[str, str], force: bool) -> list[str]:
    try:
        private_dir(folder)
    except OSError as err:
        raise DuetError(f"cannot create {folder}: {err.strerror or err}; choose another folder for --systemd") from None
    for name, text in units.items():  # each checked before any is written
        _may_replace(folder / name, force, text.__eq__, "folder for --systemd")
    paths = []
    for name, text in units.items():
        _write_private(folder / name, text)
        paths.append(str(folder / name))
    return paths


def _show_plan(store: Schedule, now: datetime, as_json: bool) -> None:
    plans = store.plans()
    following = upcoming(plans, now, count=3)
    if as_json:
        _print_json({"timezone": local_zone().key, "plans": [p.to_json() for p in plans],
                     "next": [o.to_json() for o in following]})
        return
    if not plans:
        click.echo("No sessions planned. Plan one: duet schedule add 'saturday 10:00' --every week")
        return
    click.echo(f"{'id':>3}  plan")
    for plan in plans:
        past = "; past (see --history)" if plan.every is None and plan.start < now else ""  # found in a QA pass
        click.echo(f"{plan.id:>3}  {describe(plan)} ({plan.zone.key}), {_of_work(plan.minutes)}{past}")
    click.echo("Next sessions:" if following else "No planned session is ahead.")
    for occurrence in following:
        click.echo(f"     {_slot(occurrence)}")


def _offset(minutes: int) -> str:
    """'+20 min', '-3 h', '+1 day' (how far from the planned time a session started)."""
    if abs(minutes) < 120:
        return f"{minutes:+d} min"
    if abs(minutes) < 48 * 60:
        return f"{round(minutes / 60):+d} h"
    return f"{round(minutes / 1440):+d} days"


def history(journal_path: Path, now: datetime) -> PlannedVsHeld:
    """Planned against held for one journal and its schedule (what `duet insights` can show)."""
    with Journal(journal_path) as journal:
        sessions = journal.list_sessions()
    return planned_vs_held(Schedule(schedule_path(journal_path)).plans(include_removed=True), sessions, now)


def _show_history(journal_path: Path, now: datetime, as_json: bool) -> None:
    result = history(journal_path, now)
    if as_json:
        _print_json(result.to_json())
        return
    if not result.occurrences:
        click.echo("No planned session has come yet." if Schedule(schedule_path(journal_path)).plans(include_removed=True)
                   else "No sessions planned. Plan one: duet schedule add 'saturday 10:00' --every week")
    for row in result.occurrences:
        start = datetime.fromisoformat(row["start"])
        held = f"session {row['session']} ({_offset(row['offset_minutes'])})" if row["session"] else ""
        click.echo(f"  {start:%a %Y-%m-%d %H:%M}  {row['status']:8} {held}".rstrip())
    pending = f", pending {result.count('pending')}" if result.count("pending") else ""  # JSON had it (a QA pass)
    click.echo(f"Kept {result.count('kept')}, moved {result.count('moved')}, missed {result.count('missed')}{pending}"
               f" (kept: started within {NEAR.total_seconds() / 3600:g} h of the plan; moved: within 2 days); "
               f"{phrasing.counted(len(result.unplanned), 'unplanned session')}.")


def _of_work(minutes: float) -> str:
    """"25 minutes of work", "1 minute of work"."""
    return f"{minutes:g} minute{'' if minutes == 1 else 's'} of work"
