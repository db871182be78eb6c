"""Everything Duet says, in one place, so the wording can be read and changed together."""

from __future__ import annotations

import re
from datetime import datetime, timedelta


def duration(seconds: float) -> str:
    """Spoken length: '27 minutes', '7 and a half minutes' (halfway through 15), '1 minute and
    30 seconds', '45 seconds', '2 and a half hours', '1 hour and 15 minutes'. From 5 minutes up,
    to the nearest minute, a half rounded up; below, to 5 seconds ("2 minutes and 1 second left"
    sounded like a machine to a QA pass, as "150 minutes" did)."""
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    if minutes + (secs >= 30) >= 60:
        hours, rest = divmod(minutes + (secs >= 30), 60)
        if rest == 30:
            return "an hour and a half" if hours == 1 else f"{hours} and a half hours"
        said = counted(hours, "hour")
        return f"{said} and {counted(rest, 'minute')}" if rest else said
    if minutes >= 5 and secs == 30:
        return f"{minutes} and a half minutes"
    if minutes >= 5 or (minutes and not secs):
        minutes += secs > 30
        return counted(minutes, "minute")
    if minutes:
        minutes, secs = divmod(minutes * 60 + 5 * round(secs / 5), 60)
        return f"{counted(minutes, 'minute')} and {counted(secs, 'second')}" if secs else counted(minutes, "minute")
    return counted(secs, "second")


def counted(n: int, noun: str) -> str:
    """'1 session', '3 sessions', '0 weeks' (a noun that takes an s)."""
    return f"{n} {noun}{'s' * (n != 1)}"


def weeks_ago(weeks: int) -> str:
    """'this week', 'last week', '3 weeks ago': calendar weeks back from this one."""
    return {0: "this week", 1: "last week"}.get(weeks, f"{weeks} weeks ago")


def addressed(name: str, question: str, names: tuple[str, ...] = ()) -> str:
    """'Alex, how are you feeling?' from a configured question. Its first letter is lowercased
    after the name, but for "I", a word in capitals ("NASA"), a name (``names``: the partners; a
    QA pass heard "Both, ana María, how ..."), or two capitalized words ("New York"); a question
    that opens with the addressee's name is asked as written ("Zoe, zoe, what ..." was asked)."""
    if _opens_with(question, name):
        return question
    first, _, rest = question.partition(" ")
    named = any(_opens_with(question, other) for other in names)
    two_capitals = first[:1].isupper() and rest[:1].isupper()
    if first != "I" and not first.startswith(("I'", "I’")) and not first.isupper() and not named and not two_capitals:
        question = question[:1].lower() + question[1:]
    return f"{name}, {question}"


def _opens_with(text: str, name: str) -> bool:
    """Whether ``text`` opens with ``name`` as a whole word, in any case."""
    return bool(name) and re.match(rf"{re.escape(name)}(?![^\W_])", text, re.IGNORECASE) is not None


def together(question: str, names: tuple[str, ...] = ()) -> str:
    return addressed("Both of you", question, names)


def sentence(text: str) -> str:
    """End a quoted answer with one full stop: "Right." stays "Right.", never "Right.."."""
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


STEP_WORDS = 25
"""Longest next step read back word for word; a longer one is said to be in the journal (a QA
pass heard a 104-word step read in the recap and again in three greetings)."""
NO_STEP = frozenset("""i i'm don't dont do not know sure no idea nothing whatever dunno maybe um uh er
we'll we see yet none nope""".split())
"""Words that, alone, plan nothing: "I don't know." was read back as the next step."""
_WORDS = re.compile(r"[a-z']+")


def plans_nothing(step: str | None) -> bool:
    """A next step of no words, or only words that plan nothing ("I don't know", "not sure")."""
    words = _WORDS.findall((step or "").lower().replace("’", "'"))
    return not words or NO_STEP.issuperset(words)


def step_read_back(step: str | None) -> tuple[str | None, bool]:
    """A next step as Duet reads it back: (the text, or None when there is nothing to read, and
    whether it is too long to read: then Duet says it is in the journal). A step asked back
    ("... clean the brushes?") is read as said, not as a question."""
    said = (step or "").strip()
    if plans_nothing(said):
        return None, False
    if len(_WORDS.findall(said.lower().replace("’", "'"))) > STEP_WORDS:
        return None, True
    return sentence(said.rstrip("?").rstrip()), False


def greeting(partners: list[str], leader: str, logistics: str, next_step: str | None,
             planned: str | None = None, cheer: str | None = None) -> str:
    text = f"Welcome, {partners[0]} and {sentence(partners[1])} "  # "Noah B." ends it once
    if planned:
        text += f"{planned} "
    text += f"This session {leader} leads the vision and {logistics} handles logistics."
    step, long = step_read_back(next_step)
    if step:
        text += f" The next step you last planned: {step}"  # maybe sessions ago
    elif long:
        text += " The next step you last planned is in your journal."
    if cheer:
        text += f" {cheer}"
    return text + " Let's check in."


PHASE_NAMES = {"checkin": "check-in", "work": "work phase", "debrief": "debrief", "recap": "recap"}
"""The session's phases as Duet says them."""


def welcome_back(phase: str) -> str:
    return f"Welcome back. We were in the {PHASE_NAMES.get(phase, phase)}; let's carry on where we stopped."


def work_begins(seconds: float, start_phrase: str) -> str:
    return (
        f"Thank you both. The work phase starts now: {duration(seconds)}. "
        f"Say '{start_phrase}' when you want to finish early."
    )


def milestone(key: str, remaining: float) -> str:
    if key == "time-up":
        return "Time is up. Stop when you reach a good point."  # DEBRIEF_BEGINS follows; not only painters
    if key == "halfway":
        return f"Halfway there. {duration(remaining)} left."
    return f"{duration(remaining)} left.".capitalize()


def time_left(remaining: float, paused: bool) -> str:
    text = f"{duration(remaining)} left"
    return (text + ", and the timer is paused.").capitalize() if paused else (text + ".").capitalize()


def extended(minutes: int, remaining: float) -> str:
    return f"Added {minutes} minute{'s' * (minutes != 1)}. {duration(remaining)} left."


def command(phrase: str, wake_word: str | None) -> str:
    """A command as Duet asks the couple to say it: after the wake word, when one is set."""
    return f"{wake_word}, {phrase}" if wake_word else phrase


def paused(resume: str) -> str:
    return f"Paused. Say '{resume}' when you are ready."


def still_paused(resume: str) -> str:
    return f"We're already paused. Say '{resume}' when you are ready."


def paused_first(resume: str) -> str:
    return f"We're paused. Say '{resume}' first."


def confirm_stop(yes: str) -> str:
    said = yes if " " not in yes else f"'{yes}'"  # "Say yes to stop.", "Say 'computer, yes' to stop."
    return f"Stop the session? Say {said} to stop."


RESUMED = "Resuming."
NOT_PAUSED = "We're not paused."
NOTE_PROMPT = "Go ahead, I'm listening for your note."
NOTED = "Noted."
NO_NOTE = "I didn't catch a note."
NO_NOTE_TAKEN = "All right, no note."
DEBRIEF_BEGINS = "Let's debrief. Take a breath first."
SKIPPED = "Skipped."
NO_ANSWER = "I didn't hear an answer, so let's move on."
TALKED_OVER = "Sorry, I was still speaking and missed the start."
MIC_LOST = "I lost the microphone. Everything so far is saved, and the timer is paused until it is back."
MIC_BACK = "The microphone is back. Let's carry on."
NOT_STOPPED = "Not stopping; carrying on."
NOTHING_TO_CANCEL = "There is nothing to cancel."
CANCELLED = {
    "pause": "Cancelled the pause; carrying on.",
    "extend": "Cancelled: the added time is taken off again.",
    "debrief": "Cancelled the debrief; back to work.",
    "note": "Cancelled that note.",
}
STOPPED = "Stopping the session here. Everything you said is saved."


NOTE_READ_BACK = 12
"""Longest note read back after "Noted:" (a longer one is only "Noted.")."""


def noted(text: str) -> str:
    """'Noted: buy more blue.': the couple hear what was kept, and can cancel it at once if it
    was their talk (a live QA pass found the partners' next sentence kept as the note)."""
    return f"Noted: {sentence(text)}" if len(text.split()) <= NOTE_READ_BACK else NOTED


CLOSINGS = (
    "Thank you both for the care and effort you put in today. Well done.",
    "Thank you both. That was good work, made together.",
    "Well done, both of you. Thank you for the time you gave it today.",
    "Thank you both for showing up for this, and for each other. Well done.",
)
"""The recap's last words, one a day (a QA pass heard the same one end twelve weekly sessions)."""


def recap(leader: str, logistics: str, worked: float, notes: int, next_step: str | None,
          cheer: str | None = None, next_planned: str | None = None, day: int = 0) -> str:
    """The spoken recap; ``day`` (the date's ordinal) picks its closing words."""
    parts = [
        "That's our session.",
        f"{leader} led the vision and {logistics} handled logistics.",
        f"You worked for {duration(worked)}",
    ]
    parts[-1] += f" and took {notes} note{'s' * (notes != 1)}." if notes else "."
    step, long = step_read_back(next_step)
    if step:
        parts.append(f"Your next step: {step}")
    elif long:
        parts.append("Your next step is saved in your journal.")
    if cheer:
        parts.append(cheer)
    parts.append(CLOSINGS[day % len(CLOSINGS)])
    if next_planned:
        parts.append(next_planned)
    return " ".join(parts)


# ---- the schedule (phrased by the caller, handed to the engine as a ``records.Rhythm``)

NUMBER_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def clock_time(when: datetime) -> str:
    """A time as it is said: '10 a.m.', '6:30 p.m.', 'noon', 'midnight'. The 24-hour '19' that
    a plan is written in is read out "nineteen", which no one says of a time of day."""
    if when.minute == 0 and when.hour in (0, 12):
        return "noon" if when.hour == 12 else "midnight"
    hour = when.hour % 12 or 12
    minutes = "" if when.minute == 0 else f":{when.minute:02d}"
    return f"{hour}{minutes} {'a.m.' if when.hour < 12 else 'p.m.'}"


def planned_session(start: datetime) -> str:
    """Check-in line for a session that was planned (``start`` in local time)."""
    return f"This is your planned {start:%A} session."


def see_you(start: datetime, now: datetime) -> str:
    """Recap line naming the next planned session: 'See you Saturday at 10 a.m.' (local times)."""
    days = (start.date() - now.date()).days
    if days == 0:
        day = "later today"
    elif days == 1:
        day = "tomorrow"
    elif days < 7:
        day = f"{start:%A}"
    elif days == 7:  # said on a Saturday, "Saturday" could be today (found in a QA pass)
        day = f"next {start:%A}"
    else:
        day = f"on {start:%A}, {start.day} {start:%B}"
    return sentence(f"See you {day} at {clock_time(start)}")


def starts_in(delta: timedelta) -> str:
    """``duet remind``: 'Your session starts in ten minutes.'"""
    minutes = max(0, round(delta.total_seconds() / 60))
    if minutes == 0:
        return "Your session starts now."
    count = NUMBER_WORDS[minutes] if minutes < len(NUMBER_WORDS) else str(minutes)
    return f"Your session starts in {count} minute{'s' * (minutes != 1)}."


# ---- celebrations: each one sentence, each true of the journal (see journal/celebrate.py)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 11th, 22nd."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def cheer_hours(hours: int, exact: bool) -> str:
    amount = f"{hours} hour{'s' * (hours != 1)}"
    return f"So far you have worked together for {'' if exact else 'more than '}{amount} on this project."


def cheer_step_done(step: str) -> str:
    return f"Last time you followed up on the step you had planned before: {sentence(step)}"


def cheer_worked_well(partner: str, answer: str) -> str:
    return f"Last time {partner} said this worked well: {sentence(answer)}"


def cheer_streak(weeks: int) -> str:
    return f"You have met {weeks} weeks in a row."


def cheer_completed(count: int) -> str:
    return f"You have completed {count} sessions together."


def cheer_nth_session(count: int) -> str:
    if count == 1:
        return "That was your first session together: a real beginning."
    return f"That was your {ordinal(count)} completed session together."


def cheer_streak_now(weeks: int) -> str:
    return f"That makes {weeks} weeks in a row with a session."
