"""Spoken commands: from what was heard to what was meant.

A command counts only when the whole utterance is one of its phrases (after dropping a polite
"okay" or "please"), so talk between the partners that merely contains a phrase does not trigger
it. The same phrases become the grammar a recognizer listens for (``grammar_phrases``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from assistant.config import (  # normalize is the speech edge's too
    WORD,
    CommandsConfig,
    folded,
    normalize,
    phrase_table,
    strip_polite,
)


class Intent(str, Enum):
    START_DEBRIEF = "start_debrief"
    TIME_LEFT = "time_left"
    PAUSE = "pause"
    RESUME = "resume"
    EXTEND = "extend"
    NOTE = "note"
    REPEAT = "repeat"
    STOP = "stop"
    SKIP = "skip"
    REPEAT_QUESTION = "repeat_question"
    CANCEL = "cancel"
    CONFIRM = "confirm"


WORK_INTENTS = frozenset(
    {Intent.START_DEBRIEF, Intent.TIME_LEFT, Intent.PAUSE, Intent.RESUME, Intent.EXTEND, Intent.NOTE,
     Intent.REPEAT, Intent.STOP, Intent.CANCEL, Intent.CONFIRM}
)
"""What can be said while working or paused (skip and repeat-the-question belong to questions,
which are heard by the free-form answer engine)."""

QUESTION_INTENTS = frozenset(
    {Intent.SKIP, Intent.REPEAT_QUESTION, Intent.REPEAT, Intent.PAUSE, Intent.STOP}
)
"""What can be said instead of an answer while a question is asked. Anything else is the
answer, even when it sounds like a work command: "Take a note that I am tired", "Continue." as
the next step. (Before, such answers were printed as heard, then dropped, and the question
waited out its silence and was stored unanswered.) Two exceptions, for a while
(``Engine._heard_in_question``): "cancel that" after the debrief was started by a command, and
added time just after time up ended the work phase."""


@dataclass(frozen=True)
class Command:
    """A recognized command."""

    intent: Intent
    minutes: int | None = None
    """For ``extend``: how many minutes to add."""
    text: str = ""
    """For ``note``: the words after the note phrase (may be empty: dictate it next)."""


NUMBER_WORDS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
]
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60}
MAX_EXTEND = 60


def number_words(n: int) -> str:
    """1 -> 'one', 25 -> 'twenty five' (how recognizers spell numbers)."""
    if n <= 20:
        return NUMBER_WORDS[n]
    tens, unit = divmod(n, 10)
    word = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty"}[tens]
    return word if unit == 0 else f"{word} {NUMBER_WORDS[unit]}"


def parse_number(words: str) -> int | None:
    """'five' -> 5, 'twenty five' -> 25, '25' -> 25, 'a' -> 1; None if not a number."""
    words = words.strip()
    if words.isdigit():
        return int(words)
    if words in ("a", "an", "one more"):
        return 1
    parts = words.split()
    if len(parts) == 1 and parts[0] in NUMBER_WORDS:
        return NUMBER_WORDS.index(parts[0])
    if parts and parts[0] in TENS:
        rest = parts[1:]
        if not rest:
            return TENS[parts[0]]
        if len(rest) == 1 and rest[0] in NUMBER_WORDS[1:10]:
            return TENS[parts[0]] + NUMBER_WORDS.index(rest[0])
    return None


class CommandParser:
    """Matches utterances against the configured phrases."""

    def __init__(self, phrases: CommandsConfig, wake_word: str | None = None) -> None:
        self._table = [(Intent(name), phrase) for name, phrase in phrase_table(phrases)]
        self.wake_word = normalize(wake_word) if wake_word else None

    def parse(self, text: str, *, require_wake_word: bool = False) -> Command | None:
        """The command this whole utterance is, or None for ordinary talk."""
        words = normalize(text)
        if self.wake_word and require_wake_word:
            if not words.startswith(self.wake_word):
                return None
            words = words[len(self.wake_word):].strip()
        elif self.wake_word and words.startswith(self.wake_word + " "):
            words = words[len(self.wake_word):].strip()
        words = strip_polite(words)
        for intent, phrase in self._table:
            command = _match(intent, phrase, words)
            if command is not None:
                return replace(command, text=_as_said(text, command.text)) if command.text else command
        return None

    def is_command(self, text: str) -> bool:
        """Whether ``text`` is a command said whole, with nothing of the couple's own in it (a
        note's words are): such an answer is no plan to read back, nor words to quote."""
        command = self.parse(text)
        return command is not None and not command.text

    def grammar_phrases(self, intents: frozenset[Intent] | None = None) -> list[str]:
        """Every phrase spelled out (numbers as words), for grammar-restricted recognition.

        ``intents`` limits it to some commands: the fewer phrases a grammar recognizer can choose
        from, the less ordinary talk it can mistake for one.
        """
        out: list[str] = []
        for intent, phrase in self._table:
            if intents is not None and intent not in intents:
                continue
            if "{n}" in phrase:
                out += [phrase.replace("{n}", number_words(n)) for n in range(1, MAX_EXTEND + 1)]
            else:
                out.append(phrase)
        if self.wake_word:
            out = [f"{self.wake_word} {p}" for p in out]
        return sorted(set(out))


def _as_said(text: str, words: str) -> str:
    """``words``, the end of the normalized ``text`` (a note's words, before any "please"), as
    ``text`` has them: with its capitals, punctuation and the letters normalizing drops. A note
    "Buy Cobalt-Blue, call Ana at 5:30" was stored "buy cobalt blue call ana at 5 30"."""
    lower = folded(text)  # as ``normalize`` reads it, position for position
    spans = [m.span() for m in WORD.finditer(lower)]
    said = [lower[a:b] for a, b in spans]
    wanted = words.split()
    for start in range(len(said) - len(wanted), -1, -1):
        if said[start:start + len(wanted)] == wanted:
            begin = spans[start][0]
            while begin > 0 and not text[begin - 1].isspace() and not WORD.match(text[begin - 1].lower()):
                begin -= 1  # what normalizing dropped before the first word ("Ärger", "<b>")
            last = start + len(wanted)
            end = len(text) if last == len(said) else spans[last - 1][1]  # up to "please", if it follows
            return text[begin:end].strip().lstrip(":;,.-\u2014\u2013 ").rstrip(",;:") or words
    return words


NOTE_JOINS = frozenset({"of", "about", "on", "that", "to", "for", "saying"})
"""Words joining a note phrase to the note ("take a note of that colour", "take a note that we
need blue"): not the note's (a QA pass heard "Noted: of that colour, it's the one.")."""
NOTE_NOTHING = frozenset({"that", "this", "it", "the", "a", "an", "these", "those", "them", "of", "about"})
"""Words that alone are no note ("take a note about that"): the note is dictated next (a re-check
saw "that" and "the" saved as notes)."""


def _match(intent: Intent, phrase: str, words: str) -> Command | None:
    if intent is Intent.EXTEND:
        head, _, tail = phrase.partition("{n}")
        head, tail = head.strip(), tail.strip()
        if (not head or words.startswith(head + " ")) and (not tail or words.endswith(" " + tail)):
            middle = words[len(head): len(words) - len(tail)].strip()
            n = parse_number(middle)
            if n is not None and 1 <= n <= MAX_EXTEND:
                return Command(intent, minutes=n)
        return None
    if intent is Intent.NOTE:
        if words == phrase:
            return Command(intent)
        if words.startswith(phrase + " "):
            rest = words[len(phrase):].split()
            if rest[0] in NOTE_JOINS:  # "take a note of the grain": "the grain"; "take a note about": dictate it
                rest = rest[1:]
            if all(word in NOTE_NOTHING for word in rest):
                rest = []
            return Command(intent, text=" ".join(rest))
        return None
    return Command(intent) if words == phrase else None


def work_grammar(phrases: CommandsConfig, wake_word: str | None = None) -> list[str]:
    """The phrases a command recognizer listens for during the work phase (live and benchmarks)."""
    return CommandParser(phrases, wake_word).grammar_phrases(WORK_INTENTS)
