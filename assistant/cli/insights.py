"""``duet insights``, ``duet search`` and ``duet report``: the journal over time.

The commands are built by ``commands()`` with the shared options of ``main`` handed in, so this
module does not import ``main`` (which registers them: no import cycle).
"""

from __future__ import annotations

import logging
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

import click

from assistant.cli.params import DAY
from assistant.config import Config
from assistant.errors import DuetError
from assistant.journal import Journal, words
from assistant.journal import insights as ins
from assistant.journal.charts import short
from assistant.journal.export import for_terminal, write_private
from assistant.journal.report import QUIET_SHOWN, STEPS_SHOWN, THEMES_CHARTED
from assistant.session import phrasing

log = logging.getLogger(__name__)

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def load(journal_path: Path, since: date | None, whole: bool = True) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(every session from ``since`` on, the sessions before it), oldest first: whole (answers,
    notes, events), or only index entries and digests (all ``insights`` needs: see
    ``Journal.summaries``). The earlier ones carry the current streak back (``ins.analyse``)."""
    t0 = time.perf_counter()
    with Journal(journal_path) as journal:
        every = journal.history() if whole else journal.summaries()
    sessions = ins.since(every, since)
    log.info("read %d sessions in %.2f s", len(sessions), time.perf_counter() - t0)
    return sessions, [s for s in every if since and ins.local_day(s["started_at"]) < since]


def _today() -> date:
    """The day insights are counted to: ``DUET_NOW``'s when given, as for the Plan section
    (found in a QA pass: "as of" ignored it)."""
    from assistant.cli.schedule import wall_now

    return wall_now().date()


def planned_against_held(journal_path: Path, sessions: list[dict[str, Any]],
                         since: datetime | None) -> dict[str, Any] | None:
    """Each planned time up to now and what became of it (kept, moved, missed), or None when
    the couple has never planned a session (``duet schedule add``)."""
    from assistant.cli.schedule import wall_now
    from assistant.journal.rhythm import planned_vs_held
    from assistant.journal.schedule import Schedule, schedule_path

    path = schedule_path(journal_path)
    if not path.exists():
        return None
    now = wall_now()
    try:
        plans = Schedule(path).plans(include_removed=True)
    except DuetError as err:  # the rest of the insights stand without it (found in a QA pass)
        log.warning("the Plan section is left out: %s", err)
        return None
    plan = planned_vs_held(plans, sessions, now).to_json()
    if since is not None:
        plan["occurrences"] = [o for o in plan["occurrences"] if o["start"][:10] >= f"{since:%Y-%m-%d}"]
    return plan


def render_plan(plan: dict[str, Any]) -> str:
    """The 'Plan' section of the text output."""
    rows = plan["occurrences"]
    counts = {s: sum(o["status"] == s for o in rows) for s in ("kept", "moved", "missed", "pending")}
    lines = ["Plan (duet schedule)",
             f"  planned sessions so far  {len(rows)}: kept {counts['kept']}, moved {counts['moved']}, "
             f"missed {counts['missed']}" + (f", pending {counts['pending']}" if counts["pending"] else ""),
             f"  unplanned sessions       {len(plan['unplanned'])} {_ids(plan['unplanned'])}"]
    if len(rows) > 6:
        lines.append(f"  ... and {len(rows) - 6} earlier (all of them: duet schedule --history)")
    lines += [f"  {o['start'][:16].replace('T', ' ')}  {o['status']:<8}"
              + (f" session {o['session']}" if o.get("session") else "") for o in rows[-6:]]
    return "\n".join(line.rstrip() for line in lines)


def stored_tones(sessions: list[dict[str, Any]]) -> dict[int, float | None]:
    """Tones the index already holds (scored when each session closed)."""
    return {s["id"]: s["tone"] for s in sessions if "tone" in s}


def commands(common_options: Decorator, json_option: Decorator,
             print_json: Callable[[Any], None]) -> list[click.Command]:
    """The three commands, dressed with ``main``'s shared options."""
    since_option = click.option("--since", type=DAY, default=None,
                                help="Only sessions on or after this day (YYYY-MM-DD).")

    @click.command(name="insights")
    @since_option
    @common_options
    @json_option
    def insights_cmd(since: datetime | None, config: Config, journal_path: Path, as_json: bool) -> None:
        """Patterns across sessions: rhythm, leadership, voices, feelings, themes, next steps."""
        sessions, earlier = load(journal_path, since.date() if since else None, whole=False)
        result = ins.analyse(sessions, _today(), stored_tones(sessions), earlier)
        plan = planned_against_held(journal_path, sessions, since)
        if as_json:
            print_json({**result.to_json(), "planned": plan})
        else:
            click.echo(render_text(result, journal_path, since))
            if plan is not None:
                click.echo("\n" + render_plan(plan))

    @click.command(name="search")
    @click.argument("terms", metavar="WORDS...", nargs=-1, required=True)
    @common_options
    @json_option
    def search_cmd(terms: tuple[str, ...], config: Config, journal_path: Path, as_json: bool) -> None:
        """Answers and notes that hold all the WORDS, in every session."""
        query = " ".join(terms)
        if not words.search_tokens(query):
            raise DuetError("search for at least one word (letters or digits), e.g. duet search cobalt blue")
        hits = ins.search(load(journal_path, None)[0], query)
        if as_json:
            print_json(hits)
            return
        if not hits:
            click.echo(f"Nothing in {journal_path} holds: {query}")
            return
        for hit in hits:
            who = f"{hit['partner']}, {hit['question']}" if hit["kind"] == "answer" else "note"
            click.echo(for_terminal(f"session {hit['session']}  {hit['date']}  {who}\n    {hit['text']}"))
        click.echo(f"{len(hits)} found in {phrasing.counted(len({h['session'] for h in hits}), 'session')}.")

    @click.command(name="report")
    @click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("duet-report.html"),
                  show_default=True, help="HTML file to write (created 0600).")
    @click.option("--force", is_flag=True, help="Replace the -o file even if it is not a Duet report.")
    @since_option
    @common_options
    def report_cmd(output: Path, force: bool, since: datetime | None, config: Config, journal_path: Path) -> None:
        """Write one self-contained HTML page: charts, patterns and every session's transcript."""
        from assistant.journal.report import is_report, render_report

        to_stdout = str(output) == "-"  # "-o -": the page on stdout, not a file named "-" (a QA pass)
        if not to_stdout and output.is_file() and not force and not is_report(output):  # an earlier report is replaced
            raise DuetError(f"{output} exists and is not a Duet report: add --force to replace it, "
                            "or choose another file with -o")
        sessions, earlier = load(journal_path, since.date() if since else None)
        result = ins.analyse(sessions, _today(), stored_tones(sessions), earlier)
        page = render_report(sessions, result, since=since.date() if since else None,
                             plan=planned_against_held(journal_path, sessions, since))
        if to_stdout:
            click.echo(page, nl=False)
            return
        try:
            write_private(output, page)
        except OSError as err:
            raise DuetError(f"cannot write {output}: {err.strerror}; choose another path with -o") from None
        click.echo(f"Wrote {output} ({len(sessions)} session{'s' * (len(sessions) != 1)})", err=True)

    return [insights_cmd, search_cmd, report_cmd]


# ---- the terminal view


def _ids(ids: list[int], limit: int = 8) -> str:
    if not ids:
        return ""
    shown = ", ".join(map(str, ids[:limit]))
    return f"[{shown}{', ...' if len(ids) > limit else ''}]"


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.0f} %"


def render_text(result: ins.Insights, journal_path: Path, since: datetime | None) -> str:
    """Plain text, one section per theme; session ids in brackets (``--json`` has them all)."""
    r, stopped = result.rhythm, len(result.leadership["stopped_early"])
    more = " more" if r["sessions"] else ""
    apart = f" ({stopped}{more} stopped in the check-in)" if stopped else ""  # counted in words only
    held = " held" if stopped else ""
    if not r["sessions"]:
        if since:  # the journal may hold sessions before it (a QA pass was told to run one first)
            return f"No sessions{held} since {since:%Y-%m-%d} in {journal_path}{apart}."
        return f"No sessions{held} in {journal_path} yet{apart}: run `duet run` (or `duet rehearse`) first."
    out = [f"Duet insights: {phrasing.counted(r['sessions'], 'session')}{apart}, "
           f"{_span(r['weeks'][0]['week'], r['weeks'][-1]['week'])} (as of {result.as_of})", ""]
    streak = r["streak"]
    out += ["Rhythm",
            f"  weeks with a session   {r['weeks_with_sessions']} of {len(r['weeks'])}",
            f"  last session           {r['last']['date']}, {phrasing.weeks_ago(r['last']['weeks_ago'])} [{r['last']['session']}]",
            f"  current streak         {_weeks(streak['current']['weeks'])} {_ids(streak['current']['sessions'])}",
            f"  longest streak         {phrasing.counted(streak['longest']['weeks'], 'week')}, "
            f"{_span(streak['longest']['from'], streak['longest']['to'])}",
            f"  worked                 {r['minutes_worked']:.0f} of {r['minutes_planned']:.0f} planned minutes "
            f"({_pct(r['worked_share_of_planned'])}); {int(r['average_worked'] + 0.5)} min a session on average",
            f"  interrupted            {len(r['interrupted'])} {_ids(r['interrupted'])}".rstrip()
            + (f"; resumed {_ids(r['resumed'])}" if r["resumed"] else ""),
            ""]
    lead = result.leadership
    out.append("Leadership")
    out += [f"  {p:<22} led {v['count']} {_ids(v['sessions'])}" for p, v in lead["led"].items()]
    out += [f"  no rotation: {run['leader']} led {_ids(run['sessions'])}: {run['why']}" for run in lead["not_rotated"]]
    if lead["stopped_early"]:
        out.append(f"  stopped in the check-in, no turn to lead {_ids(lead['stopped_early'])}")
    out.append("")
    v = result.voices
    out.append("Voices")
    out += [f"  {p:<22} {v['words'][p]} words ({_pct(v['share'][p])})" + _least_share(v["by_session"], p)
            for p in v["share"]]
    for q in _first(v["quiet"], 6):
        counts = [f"{n} {what}" for n, what in ((q["skipped"], "skipped"), (q["unanswered"], "unanswered")) if n]
        out.append(f"  quiet moment, {q['partner']}: \"{q['question']}\" {', '.join(counts)} {_ids(q['sessions'])}")
    out += _more(len(v["quiet"]), 6, QUIET_SHOWN)
    out.append("")
    f = result.feelings
    out.append("Feelings")
    for p, groups in f["by_partner"].items():
        out.append(f"  {p}" + ("" if groups else ": no feeling words named"))
        out += [f"    {g:<20} {_feeling_span(row)}: {_feeling_words(row)}" for g, row in groups.items()]
    tone = f["tone"]
    if tone:
        last = tone[-1]
        trend = f["trend"]
        direction = trend["direction"] or "too few sessions for a trend"
        out.append(f"  tone (-1 .. +1)        last {last['tone']:+.2f} [session {last['session']}]; "
                   f"average {sum(t['tone'] for t in tone) / len(tone):+.2f}; trend {direction}"
                   + (f" ({trend['change']:+.2f})" if trend["change"] is not None else ""))
    out.append("")
    for kind, title in (("worked_well", "What worked well"), ("challenges", "What challenged you")):
        rows = result.themes[kind]
        out.append(title)
        out += [f"  {short(row['term'], 40):<22} {phrasing.counted(row['count'], 'session')} {_ids(row['sessions'])}"
                for row in _first(rows, 8)]
        out += _more(len(rows), 8, THEMES_CHARTED)
        if not rows:
            out.append("  (nothing said yet)")
        out.append("")
    out.append("Next steps")
    steps = result.next_steps
    out += _more(len(steps), 8, STEPS_SHOWN, "earlier")
    for row in steps if len(steps) <= 9 else steps[-8:]:
        if row["status"] == "followed":
            fate = f"followed in session {row['followed_in']} ({row['followed_on']}: {', '.join(row['matched'])})"
        else:
            fate = row["status"]
        out.append(f"  [{row['session']}] {row['date']}  {row['step']}  -> {fate}")
    if not result.next_steps:
        out.append("  (none planned yet)")
    return for_terminal("\n".join(line.rstrip() for line in out))  # a row with no ids ends with its figure


LEAST_OF = 20
"""Fewest words in a session for a partner's share of it to be shown as their least."""


def _least_share(by_session: list[dict[str, Any]], partner: str) -> str:
    """'; least: 2 % in session 3': the session a partner said least in, when it stands out
    from their share (a quiet session is worth a look, not a verdict). Sessions of fewer than
    ``LEAST_OF`` words say too little to tell (a false start's 3)."""
    shares = [(row["words"][partner] / total, row["session"]) for row in by_session
              if partner in row["words"] and (total := sum(row["words"].values())) >= LEAST_OF]
    if len(shares) < 3:
        return ""
    least, session = min(shares)
    return f"; least: {_pct(least)} in session {session}" if least < 0.25 else ""


def _feeling_span(row: dict[str, Any]) -> str:
    """'9 words in 6 sessions, 5 to 10': when a feeling came, not only how often (a QA pass
    could not see anxious in sessions 1-3 give way to calm from session 5)."""
    ids, said = row["sessions"], phrasing.counted(row["count"], "word")
    if len(ids) == 1:
        return f"{said} in session {ids[0]}"
    if len(ids) == 2:
        return f"{said} in sessions {ids[0]} and {ids[1]}"
    return f"{said} in {len(ids)} sessions, {ids[0]} to {ids[-1]}"


def _weeks(n: int) -> str:
    """'3 weeks', or 'none' ("current streak 0 weeks" read badly in a QA pass)."""
    return phrasing.counted(n, "week") if n else "none"


def _span(first: str, last: str) -> str:
    """'2026-W44 to 2026-W50', or the one week ('2026-W50 to 2026-W50' read oddly)."""
    return first if first == last else f"{first} to {last}"


def _first(rows: list[Any], limit: int) -> list[Any]:
    """The first ``limit`` rows, or all of them when one more would be left out: "... and 1
    more" would take the line the row itself needs (a QA pass)."""
    return rows if len(rows) <= limit + 1 else rows[:limit]


def _more(total: int, limit: int, in_report: int, which: str = "more") -> list[str]:
    """The line that says rows were left out of a list of ``total`` (the text shows ``limit``;
    see ``_first``), and where all of them are: the report only when it shows them all (a QA
    pass was sent to it for themes it charts only the first 8 of)."""
    hidden = total - limit if total > limit + 1 else 0
    where = "duet insights --json" + (", or duet report" if total <= in_report else "")
    return [f"  ... and {hidden} {which} (all of them: {where})"] if hidden > 0 else []


def _feeling_words(row: dict[str, Any]) -> str:
    """The words a feeling was named with, most said first: three, then how many more (a QA
    pass missed "peaceful", cut without a sign)."""
    said = list(row["words"])
    return ", ".join(said[:3]) + (f" and {phrasing.counted(len(said) - 3, 'other')}" if len(said) > 3 else "")
