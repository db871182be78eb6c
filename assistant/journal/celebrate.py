"""Celebrate from the record: one true, earned sentence for the greeting and one for the recap.

Worked out from the journal before a session starts, and handed to the engine as text (the
engine stays pure). Every number in a sentence is a count of what the journal holds:

- greeting (about the sessions before this one): hours worked together (rounded down, "more
  than" unless exact); the previous session followed up the step planned in the one before it
  (judged as in ``insights.next_steps``: its words came back);
  what a partner said worked well last time; the current streak of weeks (2 or more); the number
  of completed sessions when it is a milestone.
- recap (said only when this session is done, so it counts): the number of completed sessions
  with this one when it is the first or a milestone; the streak of weeks, when this session is
  the first of its week (a second session that week adds no week: a QA pass heard "That makes 2
  weeks in a row" after the greeting's "You have met 2 weeks in a row").

Only sessions held count: a false start, stopped in its check-in (``records.was_held``), is no
week of a streak (a QA pass heard "3 weeks in a row" with one week's session stopped 2 s in).

Milestones are the 5th session and every 10th. When several sentences are true, the session's id
picks one, so the choice varies from session to session and a rehearsal is reproducible.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from assistant.journal import insights, words
from assistant.session import phrasing
from assistant.session.records import Cheer, was_held

DONE = "done"
QUOTE_WORDS = 25
"""Longest answer read back as what worked well (a long one is better read in the journal)."""
QUOTE_CONFIDENCE = 0.7
"""Least recognizer confidence of an answer read back as what worked well: a misheard one
("See, I'll come again." at 0.55, for "say that again") was quoted in the next greeting as the
partner's words. In the journals of two live QA passes (126 answers) every garbled answer read
below 0.7 but two ("Ill disposed young man." 0.72, a half of a longer answer)."""
QUOTE_LEAST_WORDS = 2
"""Fewest words of an answer read back as what worked well: "Mulch." said alone is better left
in the journal than quoted (found in a QA pass)."""
NOTHING_WORKED = words.NEGATIONS | frozenset({"nothing", "none", "nope", "nah", "dunno"})
"""Words that make an answer no celebration: "Nothing.", "Not much." was quoted in the greeting
as what a partner said worked well (found in a QA pass)."""
NEEDS_WHOLE = 2
"""Only the last two sessions' answers matter here (a step carried out, what worked well); for
the others the journal's index (dates, status, minutes worked) is enough."""


def _worth_quoting(turn: dict[str, Any], is_command: Callable[[str], bool] | None) -> bool:
    """An answer about what worked well that the greeting may read back as the partner's words:
    short enough, heard surely, saying that something did work, and no command said in its place
    (a QA pass heard "Last time Sam said this worked well: add five minutes.")."""
    said = words.tokens(turn["answer"])
    return (QUOTE_LEAST_WORDS <= len(said) <= QUOTE_WORDS and NOTHING_WORKED.isdisjoint(said)
            and (turn.get("confidence") is None or turn["confidence"] >= QUOTE_CONFIDENCE)
            and not (is_command and is_command(turn["answer"])))


def milestone(count: int) -> bool:
    return count == 5 or (count > 0 and count % 10 == 0)


def cheer(past: list[dict[str, Any]], session_id: int, started: datetime,
          is_command: Callable[[str], bool] | None = None) -> Cheer:
    """The sentences for session ``session_id`` starting at ``started``, from the sessions held
    before it; ``is_command``: whether an answer was a command said in its place."""
    past = insights.chronological(s for s in past if s["id"] != session_id and was_held(s))
    today = started.astimezone().date()
    return Cheer(greeting=_pick(greeting_options(past, today, is_command), session_id),
                 recap=_pick(recap_options(past, session_id, started), session_id))


def _pick(options: list[str], session_id: int) -> str | None:
    return options[session_id % len(options)] if options else None


def greeting_options(past: list[dict[str, Any]], today: Any,
                     is_command: Callable[[str], bool] | None = None) -> list[str]:
    """Every true celebration about the sessions so far."""
    options = []
    worked = sum(s.get("worked") or 0.0 for s in past)
    if worked >= 3600:
        hours = int(worked // 3600)
        options.append(phrasing.cheer_hours(hours, exact=worked == hours * 3600))
    if len(past) >= 2:
        steps = {row["session"]: row for row in insights.next_steps(insights.with_digests(past))}
        row = steps.get(past[-2]["id"])
        if row and row["followed_in"] == past[-1]["id"] and not _same_words(row["step"], past[-1].get("next_step")):
            options.append(phrasing.cheer_step_done(row["step"]))  # not the step the greeting reads back
    if past:
        worked_well = [t for t in insights.answered(past[-1])
                       if t["partner"] != "both" and insights.asks(t["question"], insights.WORKED_WELL)
                       and _worth_quoting(t, is_command)]
        if worked_well:
            turn = worked_well[len(past) % len(worked_well)]
            options.append(phrasing.cheer_worked_well(turn["partner"], turn["answer"]))
    streak = insights.streaks(insights.weeks(past), today)["current"]["weeks"]
    if streak >= 2:
        options.append(phrasing.cheer_streak(streak))
    done = sum(s["status"] == DONE for s in past)
    if milestone(done):
        options.append(phrasing.cheer_completed(done))
    return options


def recap_options(past: list[dict[str, Any]], session_id: int, started: datetime) -> list[str]:
    """Every true celebration once this session is done."""
    options = []
    done = sum(s["status"] == DONE for s in past) + 1
    if done == 1 or milestone(done):
        options.append(phrasing.cheer_nth_session(done))
    this = {"id": session_id, "started_at": started.isoformat()}
    week = insights.week_of(started.astimezone().date())
    first_of_week = all(insights.week_of(insights.local_day(s["started_at"])) != week for s in past)
    streak = insights.streaks(insights.weeks(past + [this]), started.astimezone().date())["current"]["weeks"]
    if streak >= 2 and first_of_week:
        options.append(phrasing.cheer_streak_now(streak))
    return options


def _same_words(one: str, other: str | None) -> bool:
    return other is not None and words.tokens(one) == words.tokens(other)
