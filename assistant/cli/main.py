"""The ``duet`` command line: prints for people, ``--json`` prints for programs.

Every problem the user can fix ends as one line on stderr and exit code 2, turned into that line
in one place, the group's error boundary (``DuetGroup.main``): a ``DuetError`` as it is, any
file-system error (``OSError``) as the path, what went wrong and the fix (``errors.os_error``),
never a traceback. Ctrl-C ends with 130 after saying how to resume.

The journal's rule (see ``journal.py``): commands that write (``run``, ``rehearse``, ``resume``,
``forget``) take the journal's lock before they read anything from it; commands that only read
(``sessions``, ``show``, ``export``, ``say``) take no lock and create nothing. ``insights``,
``search`` and ``report`` read the same way, except that they store the digests an older journal
lacks when the lock is free at once (``Journal.summaries``).

Startup stays light: the session runner, the speech engines and the charts are imported by the
commands that use them, not here (``python -X importtime -m assistant --help`` shows what is left).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shlex
import signal
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, NoReturn

import click

from assistant.cli import schedule as schedule_cli
from assistant.cli.params import DAY
from assistant.config import Config, load_config
from assistant.errors import DuetError, Terminated, os_error
from assistant.journal import Journal, default_journal_path, export
from assistant.journal.journal import journal_file
from assistant.journal.rhythm import instant
from assistant.session import phrasing
from assistant.session.clock import SimulatedClock
from assistant.session.records import shown_status, was_held

log = logging.getLogger("assistant")


# ---- shared options


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--config, --journal and --verbose on every command."""

    @click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
                  help="Configuration file (default: config.yaml of the installation).")
    @click.option("--journal", "journal_path", type=str, default=None,
                  help="Journal file (default: the config's, else the user's data folder).")
    @click.option("-v", "--verbose", count=True, help="More log output (-vv: debug, shows transcripts).")
    @functools.wraps(func)
    def wrapper(*args: Any, config_path: Path | None, journal_path: str | None, verbose: int, **kwargs: Any) -> Any:
        _setup_logging(verbose)
        config = load_config(config_path)
        path = _journal_path(config, journal_path)
        _JOURNAL["path"] = path
        _JOURNAL["options"] = [part for option, value in (("--config", config_path), ("--journal", journal_path))
                               if value for part in (option, shlex.quote(str(value)))]
        return func(*args, config=config, journal_path=path, **kwargs)

    return wrapper


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for programs.")(func)


def _journal_path(config: Config, override: str | None) -> Path:
    if override is not None and not override.strip():
        raise DuetError("--journal is empty: pass a file path, or leave it out for the default journal")
    return Path(override or config.journal or default_journal_path()).expanduser()


_LOG_HANDLER: list[logging.Handler] = []


def _setup_logging(verbose: int) -> None:
    """Logs to this run's stderr (a second run in the same process, as in tests, gets its own),
    leaving any other handler where it is."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    root = logging.getLogger()
    while _LOG_HANDLER:
        root.removeHandler(_LOG_HANDLER.pop())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    # the state machine library's every step, only with -vv: at -v it was all a rehearsal printed
    logging.getLogger("transitions").setLevel(logging.WARNING if verbose < 2 else logging.DEBUG)
    _LOG_HANDLER.append(handler)


def one_line(text: str) -> str:
    """Text from outside (a name, a path, a hand-edited record) shown on one line: control
    characters such as line breaks are written as escapes."""
    return export.escaped(text)


def _print_json(data: Any) -> None:
    """Indented JSON, written by orjson (the standard library took half a second for the insights
    of 1,000 sessions); what orjson cannot write (an integer past 64 bits) goes the standard way."""
    import orjson

    try:
        text = orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONEncodeError:
        text = json.dumps(data, indent=2, ensure_ascii=False)
    click.echo(text)


# ---- the error boundary


class DuetGroup(click.Group):
    """The ``duet`` group, whose ``main`` is the one place where errors become one line."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except DuetError as err:  # one that already says how to resume is not told "saved with every answer"
            said = re.sub(r"`duet resume (\d+)`", lambda m: f"`{_resume_command(int(m[1]))}`", str(err))
            _fail(said + ("" if "duet resume" in said else _resume_hint()), err.exit_code)
        except OSError as err:
            _fail(str(os_error(err, _journal_hint(err))), 2)
        except click.exceptions.Abort as err:
            cause = err.__cause__ or err.__context__
            if isinstance(cause, KeyboardInterrupt):
                _interrupted(cause)
            _fail("cancelled", 1)
        except click.ClickException as err:
            if type(err).__name__ == "NoArgsIsHelpError":  # `duet` alone: the help, as it is
                click.echo(err.format_message(), err=True)
                sys.exit(2)
            _fail(f"{err.format_message()} (see {_help_for(err)} --help)", 2)
        except KeyboardInterrupt as err:
            _interrupted(err)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"duet: {one_line(message)}", err=True)
    sys.exit(code)


_JOURNAL: dict[str, Any] = {}
"""The journal path of the command being run (the error boundary names the way around it), and the
``--config`` / ``--journal`` options it was given (``options``: the resume hint repeats them)."""


def _journal_hint(err: OSError) -> str:
    """For a path of the journal (its folder, index, sessions, lock): the way around it."""
    journal = _JOURNAL.get("path")
    if journal is None or err.filename is None:
        return ""
    place, journal_at = os.path.abspath(os.fsdecode(err.filename)), os.path.abspath(journal)
    if place.startswith(os.path.dirname(journal_at)) or journal_at.startswith(place):
        return "; or pass another journal file with --journal"
    return ""


# ---- the commands


@click.group(cls=DuetGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="duet")
def cli() -> None:
    """Duet: an offline voice companion for couples who create together."""


@cli.command()
@common_options
@json_option
def sessions(config: Config, journal_path: Path, as_json: bool) -> None:
    """List the sessions in the journal, in the order they were held."""
    from assistant.journal.insights import chronological

    with Journal(journal_path) as journal:
        rows = chronological(journal.list_sessions())
    if as_json:
        _print_json(rows)
        return
    if not rows:
        click.echo(f"No sessions yet in {journal_path}.")
        return
    click.echo(f"{'id':>4}  {'date':16}  {'worked':>8}  {'leader':12}  status")  # "1440 min" fits
    for row in rows:  # one line per session, whatever a hand-edited record holds
        click.echo(
            f"{row['id']:>4}  {one_line(export.local_time(row['started_at'])):16}  {export.minutes(row.get('worked')):>8}"
            f"  {one_line(row['leader'])[:12]:12}  {one_line(shown_status(row['status'], was_held(row)))}"
        )


@cli.command()
@click.argument("ref", default="last")
@common_options
@json_option
def show(ref: str, config: Config, journal_path: Path, as_json: bool) -> None:
    """Show one session: an id from `duet sessions`, or 'last' (the default)."""
    with Journal(journal_path) as journal:
        session = journal.get(ref)
    if as_json:
        _print_json(session)
    else:
        click.echo(export.text(session), nl=False)


@cli.command(name="export")
@click.argument("ref", default="last")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md", show_default=True,
              help="Markdown, a web page, or JSON for programs.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="File to write (default: stdout).")
@click.option("--force", is_flag=True, help="Replace the -o file if it exists.")
@common_options
def export_cmd(ref: str, fmt: str, output: Path | None, force: bool, config: Config, journal_path: Path) -> None:
    """Export a session (an id, or 'last', the default) as Markdown, HTML or JSON."""
    with Journal(journal_path) as journal:
        document = export.render(journal.get(ref), fmt)
    if output is None or str(output) == "-":  # "-o -" is stdout, not a file named "-" (a QA pass)
        click.echo(document, nl=False)
        return
    try:
        export.write_private(output, document, force=force)
    except OSError as err:
        raise DuetError(f"cannot write {output}: {err.strerror}; choose another path with -o") from None
    click.echo(f"Wrote {output}", err=True)


@cli.command()
@click.argument("script", type=click.Path(path_type=Path))
@click.option("--work", "work_minutes", type=float, default=None, help="Work-phase length in minutes.")
@click.option("--date", "on_date", type=DAY, default=None,
              help="Hold the session on this day (YYYY-MM-DD, at 10:00 local time), to build a history.")
@common_options
@json_option
def rehearse(script: Path, work_minutes: float | None, on_date: datetime | None, config: Config,
             journal_path: Path, as_json: bool) -> None:
    """Run a whole session from a script of answers and commands, on a simulated clock."""
    from assistant.session.rehearsal import load_script
    from assistant.session.runner import new_session

    lines = load_script(script)
    _JOURNAL["script"] = script
    now = _held_on(on_date, journal_path) if on_date else schedule_cli.wall_now()
    config, rhythm = schedule_cli.session_rhythm(config, journal_path, work_minutes, now)
    clock = SimulatedClock(start_wall=now.astimezone(timezone.utc))  # the journal keeps UTC
    echo = None if as_json else _echo_line(clock)
    with Journal(journal_path) as journal:
        journal.lock()  # then read (last leader, next step), then write
        engine = new_session(config, journal, clock, rhythm)
        port = _scripted_port(lines, clock, echo, engine.log)
        status = _run_rehearsal(engine, port, as_json)
        session_id = engine.log.session_id
    _report_unreached(port)
    if as_json:
        _print_json({"session": session_id, "status": status, "transcript": port.transcript.lines})
    else:
        click.echo(f"\nSession {session_id} {shown_status(status)}; saved in {journal_path}")


FIRST_YEAR = 1970
"""The earliest year a rehearsed session may be held in (``--date``)."""


def _held_on(day: datetime, journal_path: Path) -> datetime:
    """When a rehearsal dated ``day``, a day that has come, is held: 10:00 local time, or now if
    that is later today, or just after the sessions already held that day from then on.

    A QA pass had a typo (2062 for 2026) taken silently, after which insights counted "12 of
    1894 weeks"; year 9999 broke them. Another held three rehearsals on one day, all at 10:00:
    none was before another, so all three were led by the same partner (the leader rotates on
    the sessions held before), and one dated today at 8:00 was held two hours ahead."""
    now = schedule_cli.wall_now()
    if day.date() > now.date():
        raise DuetError(f"--date {day.date().isoformat()} is still to come: a session is held today or on a past day")
    if day.year < FIRST_YEAR:
        raise DuetError(f"--date {day.date().isoformat()} is before {FIRST_YEAR}: give the day the session was held")
    start = day.replace(hour=10).astimezone()
    if day.date() == now.date():
        start = min(start, now)
    held = [(begun, instant(s.get("ended_at")) or begun) for s in _sessions_in(journal_path)
            if (begun := instant(s.get("started_at"))) is not None]
    ends = [end for begun, end in held if begun >= start and begun.astimezone().date() == day.date()]
    return max(ends) + HELD_AFTER if ends else start


HELD_AFTER = timedelta(minutes=1)
"""How long after the end of the day's last session a rehearsal on the same day starts."""


def _sessions_in(journal_path: Path) -> list[dict[str, Any]]:
    """The journal's sessions (none if there is no journal yet: reading one would create it)."""
    if not journal_file(journal_path).exists():
        return []
    with Journal(journal_path) as journal:
        return journal.list_sessions()


def _scripted_port(lines: list[Any], clock: SimulatedClock, echo: Callable[[str, str], None] | None,
                   recorder: Any, first_line: int = 0, worked: float = 0.0) -> Any:
    """A rehearsal port whose every line heard is marked in the session's next record."""
    from assistant.session.rehearsal import ScriptedPort, prefix_digests

    digests = prefix_digests(lines)

    def heard(count: int) -> None:
        recorder.script = {"sha": digests[count], "line": count}

    heard(first_line)
    return ScriptedPort(lines, clock, echo=echo, first_line=first_line, worked=worked, on_line=heard)


def _run_rehearsal(engine: Any, port: Any, as_json: bool) -> str:
    """Run a scripted session; one that a problem stops (a script that ran out while paused)
    is still given to a program reading ``--json`` (its id, "interrupted", what was said), as
    well as the error: a QA pass's program never learned the id of the session to resume."""
    from assistant.session.runner import run

    try:
        return run(engine, port)
    except DuetError:
        if as_json:
            _print_json({"session": engine.log.session_id, "status": "interrupted",
                         "transcript": port.transcript.lines})
        raise


def _report_unreached(port: Any) -> None:
    if port.unreached:
        from assistant.session.rehearsal import mm_ss

        times = ", ".join(mm_ss(t) for t in port.unreached[:3])
        many = len(port.unreached) > 1
        log.warning("%s (at %s%s) %s not reached: the work phase had ended",
                    phrasing.counted(len(port.unreached), "timed script line"), times,
                    ", ..." if len(port.unreached) > 3 else "", "were" if many else "was")


def _echo_line(clock: SimulatedClock) -> Callable[[str, str], None]:
    def echo(who: str, text: str) -> None:
        minutes, seconds = divmod(int(clock.now()), 60)
        click.echo(f"[{minutes:02d}:{seconds:02d}] {who}: {text}")

    return echo


@cli.command()
@click.argument("ref", default="latest")
@click.option("--script", type=click.Path(path_type=Path), default=None,
              help="Continue as a rehearsal from this script instead of live audio.")
@common_options
@json_option
def resume(ref: str, script: Path | None, config: Config, journal_path: Path, as_json: bool) -> None:
    """Continue an interrupted session from the question where it stopped."""
    from assistant.session.runner import resume_session, run

    lines = None
    if script is not None:
        from assistant.session.rehearsal import lines_heard, load_script

        lines = load_script(script)
        _JOURNAL["script"] = script
    if not journal_path.exists():  # a mistyped path: say so, and make nothing there (a QA pass found a lock file)
        raise DuetError(f"no journal at {journal_path}: nothing to resume; pass the journal the session was saved in with --journal")
    with Journal(journal_path) as journal:
        journal.lock()  # then read (which session, where it stopped), then write
        if ref == "latest":
            found = journal.latest_interrupted()
            if found is None:
                raise DuetError(f"no interrupted session in {journal_path}: nothing to resume")
            ref = str(found)
        if script is None:
            from assistant.speech.live import live_port

            ref = str(journal.resumable(ref))  # before the models load
            clock, port = live_port(config)
            try:
                engine = resume_session(config, journal, clock, ref)
                status = run(engine, port)
            finally:
                port.close()
        else:
            clock = SimulatedClock()
            engine = resume_session(config, journal, clock, ref)
            point = engine.resumed_from
            heard = lines_heard(lines or [], point.script_lines, script) if point else 0
            worked = float(point.work.get("elapsed", 0.0)) if point else 0.0
            port = _scripted_port(lines or [], clock, None if as_json else _echo_line(clock),
                                  engine.log, first_line=heard, worked=worked)
            status = _run_rehearsal(engine, port, as_json)
        session_id = engine.log.session_id
    if script is not None:
        _report_unreached(port)
    if as_json:
        _print_json({"session": session_id, "status": status}
                    | ({"transcript": port.transcript.lines} if script is not None else {}))
    else:
        click.echo(f"\nSession {session_id} {shown_status(status)}; saved in {journal_path}")


@cli.command(name="run")
@click.option("--work", "work_minutes", type=float, default=None,
              help="Work-phase length in minutes (fractions allowed), instead of the config's.")
@common_options
def run_cmd(work_minutes: float | None, config: Config, journal_path: Path) -> None:
    """Run a live session through the microphone and speaker."""
    from assistant.session.runner import new_session, run
    from assistant.speech.live import live_port
    from assistant.speech.mic import input_device

    config, rhythm = schedule_cli.session_rhythm(config, journal_path, work_minutes)
    input_device(config.listening.input_device)  # no microphone: nothing made on disk
    with Journal(journal_path) as journal:
        journal.lock()  # before the models load: then read, then write
        clock, port = live_port(config)
        try:
            engine = new_session(config, journal, clock, rhythm)
            status = run(engine, port)
        finally:
            port.close()
    click.echo(f"\nSession {engine.log.session_id} {shown_status(status)}; saved in {journal_path}")


@cli.command()
@click.argument("wav", type=click.Path(path_type=Path))
@click.option("--engine", type=click.Choice(["auto", "vosk", "whisper", "moonshine", "pocketsphinx"]), default=None,
              help="Recognizer (default: the config's answer engine).")
@common_options
@json_option
def transcribe(wav: Path, engine: str | None, config: Config, journal_path: Path, as_json: bool) -> None:
    """Transcribe a WAV file (any rate or channels) with a speech engine."""
    from assistant.cli.transcribe import transcribe_file

    transcript = transcribe_file(wav, engine or config.speech.answers, config, progress=not as_json)
    if as_json:
        _print_json({
            "file": str(wav), "engine": transcript.engine, "text": transcript.text,
            "confidence": transcript.confidence,
            "words": [w.__dict__ for w in transcript.words],
        })
    elif not transcript.text.strip():  # an empty line said nothing (a QA pass)
        click.echo(f"[{transcript.engine}] (no words heard in {wav})")
    else:
        click.echo(f"[{transcript.engine}] {transcript.text}")


@cli.command(name="say")
@click.argument("ref", default="last")
@common_options
def say_cmd(ref: str, config: Config, journal_path: Path) -> None:
    """Read a session's transcript aloud (an id, or 'last', the default)."""
    from assistant.cli.readback import spoken_lines
    from assistant.speech.live import open_speaker
    from assistant.speech.voice import Voice

    with Journal(journal_path) as journal:
        session = journal.get(ref)
    voice = Voice(config.voice.name, rate=config.voice.rate, volume=config.voice.volume)
    speaker = open_speaker(config, printed="the transcript")  # not "prompts" (a QA pass)
    for line in spoken_lines(session):
        click.echo(line)
        if speaker is not None:
            speaker.play(*voice.render(line))


@cli.command()
@common_options
@json_option
def doctor(config: Config, journal_path: Path, as_json: bool) -> None:
    """Check audio devices, input level, speech engines, voice and journal."""
    from assistant.cli.doctor import run_checks

    checks = run_checks(config, journal_path)
    if as_json:
        _print_json([c.__dict__ for c in checks])
    else:
        for check in checks:
            click.echo(f"{'OK ' if check.ok else 'FIX'}  {check.name:<12} {check.detail}")
    if not all(c.ok for c in checks):
        sys.exit(1)


@cli.command()
@click.argument("ref")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@common_options
def forget(ref: str, yes: bool, config: Config, journal_path: Path) -> None:
    """Delete a session (an id, 'last' or 'all') and every copy of it, backups included."""

    asked: list[dict[str, Any]] = []

    def confirm(sessions: list[dict[str, Any]]) -> bool:
        asked.extend(sessions)
        if not sessions:
            return False
        if ref.lower() != "all":
            one = sessions[0]
            try:
                answers = sum(t["status"] == "answered" for t in journal.get(one["id"])["turns"])
                count = f"{answers} answer{'s' * (answers != 1)}"
            except DuetError:  # a damaged session file can still be forgotten
                count = "its file is damaged"
            when, leader = one_line(export.local_time(one["started_at"])), one_line(one["leader"])
            what = f"session {one['id']} ({when}, led by {leader}, {count})"
        else:
            what = f"every session in {journal_path} ({len(sessions)})"
        them = "them" if ref.lower() == "all" and len(sessions) > 1 else "it"
        return yes or _confirm(f"Forget {what} and every copy of {them}, backups included? This cannot be undone.")

    with Journal(journal_path) as journal:
        forgotten = journal.forget(ref, confirm=confirm)
    if not asked:
        click.echo(f"No sessions in {journal_path}: nothing to forget.")
    elif not forgotten:
        raise DuetError("nothing was forgotten", exit_code=1)
    elif ref.lower() == "all":
        click.echo(f"Forgot every session ({len(forgotten)}): the journal is empty, no copy is left.")
    else:
        click.echo(f"Forgot session {forgotten[0]}: no copy of it is left in {journal_path.resolve().parent}.")


def _confirm(question: str) -> bool:
    """Ask on the terminal; no answer possible (no input) is an error, Ctrl-C an interruption."""
    try:
        return click.confirm(question, default=False, err=True)
    except click.exceptions.Abort as err:
        if isinstance(err.__context__, KeyboardInterrupt):
            raise err.__context__ from None
        raise DuetError("nothing was forgotten: no answer to the question (no input); "
                        "add --yes to forget without asking") from None


from assistant.cli.insights import commands as _insight_commands  # noqa: E402 (after the shared options)

for _command in [*schedule_cli.commands(common_options, json_option),
                 *_insight_commands(common_options, json_option, _print_json)]:
    cli.add_command(_command)


def main() -> None:
    """Entry point: one line per user error, exit 2; Ctrl-C exits 130 and SIGTERM 143, each with
    one line (saying how to resume when a session was running), never a traceback."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, _raise_terminated)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file-size limit then fails the write (kept in memory)
    sys.stdout = _PipeSafe(sys.stdout)
    cli.main()  # errors become one line in DuetGroup.main


class _PipeSafe:
    """stdout that, once its reader has gone (``duet rehearse ... | head``), drops what follows:
    what is printed is a view, and a session goes on and is saved. A QA pass found a rehearsal
    killed by it, left interrupted with exit 1 and nothing said."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._drop()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._drop()

    def _drop(self) -> None:
        """What is still to be written goes nowhere, now and at exit."""
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def _interrupted(exc: KeyboardInterrupt) -> NoReturn:
    """One line, then exit 130 (Ctrl-C) or 143 (SIGTERM); a second signal changes nothing."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    terminated = isinstance(exc, Terminated)
    what = "stopped (SIGTERM)" if terminated else "interrupted"
    click.echo(f"duet: {what}{_resume_hint()}", err=True)
    sys.exit(143 if terminated else 130)


def _resume_hint() -> str:
    """For an error that ended a running session: how to carry on (found in a QA pass: a script
    that ended while paused left the session interrupted with no word on resuming)."""
    active = _active_session()
    if active is None or active.session_id is None:
        return ""
    how = _resume_command(active.session_id)
    return f"; session {active.session_id} is saved as interrupted with every answer so far. Continue with: {how}"


def _resume_command(session_id: int) -> str:
    """The command that resumes ``session_id`` as it ran: its script, config and journal (a QA
    pass followed a hint without its --journal onto the default journal)."""
    active = _active_session()
    script = ["--script", shlex.quote(str(_JOURNAL.get("script", "SCRIPT.yaml")))] \
        if active is not None and active.rehearsal else []  # the script it ran (a QA pass got a placeholder)
    return " ".join([f"duet resume {session_id}", *script, *_JOURNAL.get("options", [])])


def _active_session() -> Any:
    """The runner's record of the session this process runs, if it ever imported the runner (only
    the commands that hold a session do: importing it just to look costs every command ~0.1 s)."""
    runner = sys.modules.get("assistant.session.runner")
    return getattr(runner, "ACTIVE", None)


def _help_for(err: click.ClickException) -> str:
    """The command whose help answers a usage error: "duet schedule add", or "duet" for an
    unknown command (a QA pass was sent to "duet shwo --help", and from "schedule add" to the
    group's help)."""
    ctx = getattr(err, "ctx", None)
    if ctx is None:
        return f"duet {_command_name()}".rstrip()
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name)
        ctx = ctx.parent
    return " ".join(["duet", *reversed(names)])


def _command_name() -> str:
    return next((arg for arg in sys.argv[1:] if not arg.startswith("-")), "").strip() or ""
