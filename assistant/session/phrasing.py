"""Everything Duet says, in one place, so the wording can be read and changed together."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """Spoken length: '27 minutes', '1 minute and 30 seconds', '45 seconds'."""
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    if minutes >= 5 or (minutes and not secs):
        minutes = round(seconds / 60)
        return f"{minutes} minute{'s' * (minutes != 1)}"
    if minutes:
        return f"{minutes} minute{'s' * (minutes != 1)} and {secs} second{'s' * (secs != 1)}"
    return f"{secs} second{'s' * (secs != 1)}"


def addressed(name: str, question: str) -> str:
    """'Alex, how are you feeling?' from a configured question."""
    first = question.split(" ", 1)[0]
    if first != "I" and not first.isupper():
        question = question[:1].lower() + question[1:]
    return f"{name}, {question}"


def together(question: str) -> str:
    return addressed("Both of you", question)


def greeting(partners: list[str], leader: str, logistics: str, next_step: str | None) -> str:
    text = (
        f"Welcome, {partners[0]} and {partners[1]}. "
        f"This session {leader} leads the vision and {logistics} handles logistics."
    )
    if next_step:
        text += f" Last time you planned this next step: {next_step}."
    return text + " Let's check in."


def welcome_back(phase: str) -> str:
    return f"Welcome back. We were in the {phase}; let's carry on where we stopped."


def work_begins(seconds: float, start_phrase: str) -> str:
    return (
        f"Thank you both. The work phase starts now: {duration(seconds)}. "
        f"Say '{start_phrase}' when you want to finish early."
    )


def milestone(key: str, remaining: float) -> str:
    if key == "time-up":
        return "Time is up. Put the brushes down when you can: let's debrief."
    if key == "halfway":
        return f"Halfway there. {duration(remaining)} left."
    return f"{duration(remaining)} left.".capitalize()


def time_left(remaining: float, paused: bool) -> str:
    text = f"{duration(remaining)} left"
    return (text + ", and the timer is paused.").capitalize() if paused else (text + ".").capitalize()


def extended(minutes: int, remaining: float) -> str:
    return f"Added {minutes} minute{'s' * (minutes != 1)}. {duration(remaining)} left."


PAUSED = "Paused. Say 'resume' when you are ready."
RESUMED = "Resuming."
NOTE_PROMPT = "Go ahead, I'm listening for your note."
NOTED = "Noted."
NO_NOTE = "I didn't catch a note."
DEBRIEF_BEGINS = "Let's debrief. Take a breath first."
SKIPPED = "Skipped."
NO_ANSWER = "I didn't hear an answer, so let's move on."
MIC_LOST = "I lost the microphone. Everything so far is saved, and the timer is paused until it is back."
MIC_BACK = "The microphone is back. Let's carry on."
CONFIRM_STOP = "Stop the session? Say yes to stop."
NOT_STOPPED = "Not stopping; carrying on."
NOTHING_TO_CANCEL = "There is nothing to cancel."
CANCELLED = {
    "pause": "Cancelled the pause; carrying on.",
    "extend": "Cancelled: the added time is taken off again.",
    "debrief": "Cancelled the debrief; back to work.",
    "note": "Cancelled that note.",
}
STOPPED = "Stopping the session here. Everything you said is saved."


def recap(leader: str, logistics: str, worked: float, notes: int, next_step: str | None) -> str:
    parts = [
        "That's our session.",
        f"{leader} led the vision and {logistics} handled logistics.",
        f"You worked for {duration(worked)}",
    ]
    parts[-1] += f" and took {notes} note{'s' * (notes != 1)}." if notes else "."
    if next_step:
        parts.append(f"Your next step: {next_step}.")
    parts.append("Thank you both for the care and effort you put in today. Well done.")
    return " ".join(parts)
