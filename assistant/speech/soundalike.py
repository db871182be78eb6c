"""Sound-alike matching: which command phrase a transcript sounds like, if any.

A free-form recognizer spells what it heard its own way ("start the debrief" may come back as
"Start the de-brief." or "start the lead reef"), so transcripts are compared with the phrases by
*sound*: both are turned into espeak-ng phonemes (``espeak-ng -q -x``, stress and length marks
dropped) and compared with a normalized edit distance (rapidfuzz's Levenshtein: edits divided
by the longer string's length). The whole transcript is compared with the whole phrase, so a
sentence that merely contains a phrase ("we should pause and look") is far from "pause": the
extra words are all edits.

Phrases are config, so their phonemes are computed once (one espeak-ng call for all of them);
transcripts' phonemes are cached, because talk repeats itself.
"""

from __future__ import annotations

import functools
import re
import subprocess
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from assistant.session.commands import normalize

MERGE_MAX = 0.35
"""Largest distance at which two words may stand for one in ``worst_word`` ("the brief" for
"debrief", "time's" for "time is"); a worse merge costs 1 (a word missing or left over).
Without this limit "say again" hid the missing "that" of "say that again" and "cancel that
thought" its extra word (on section 3's talk: 5 false commands in 67 min became 2, recall
fell 2-6 points, which ``agree_exact`` more than wins back)."""

_MARKS = re.compile(r"[',%=_:!;\-]")
"""espeak-ng's stress, length and syllable marks: not part of how a word sounds for matching."""


@dataclass(frozen=True)
class Match:
    """The phrase a transcript sounds most like."""

    phrase: str
    """The configured phrase (numbers spelled out), as ``CommandParser`` understands it."""
    distance: float
    """Normalized phoneme edit distance, 0 (same sound) .. 1 (nothing alike)."""
    runner_up: float
    """Distance of the nearest phrase of a *different* command: how clear the choice was."""
    worst_word: float = 0.0
    """Word by word: the largest distance of one phrase word to what was heard in its place
    (1.0 when a word is missing or an extra word was heard). "how much paint is left" is close
    to "how much time is left" as a whole, but "time" was never heard."""


def phonemes(texts: list[str]) -> list[str]:
    """espeak-ng phonemes for each text (normalized words), one espeak-ng call for all."""
    clean = [normalize(t) for t in texts]
    todo = [t for t in dict.fromkeys(clean) if t and t not in _CACHE]
    if todo:
        out = subprocess.run(["espeak-ng", "-q", "-x", "--stdin"], input="".join(t + ".\n" for t in todo),
                             capture_output=True, text=True, timeout=30, check=True).stdout
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        if len(lines) == len(todo):
            _CACHE.update(zip(todo, (_plain(line) for line in lines)))
        else:  # a text espeak split into clauses: ask one at a time
            for text in todo:
                _CACHE[text] = _one(text)
    return [_CACHE.get(t, "") for t in clean]


_CACHE: dict[str, str] = {}


@functools.lru_cache(maxsize=4096)
def _one(text: str) -> str:
    out = subprocess.run(["espeak-ng", "-q", "-x", text], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    return _plain(" ".join(out.split()))


def _plain(line: str) -> str:
    """Phonemes without stress/length marks, words separated by one space."""
    return " ".join(_MARKS.sub("", line).split())


class SoundAlike:
    """Nearest-phrase lookup by phoneme edit distance over a fixed phrase list."""

    def __init__(self, phrases: dict[str, str]) -> None:
        """
        Args:
            phrases: phrase -> its command (intent name); phrases spelled as recognizers would.
        """
        self.phrases = phrases
        names = list(phrases)
        self._sounds = list(zip(names, phonemes(names)))
        self._words = {name: word_sounds(name) for name in names}
        self.longest_words = max((len(p.split()) for p in names), default=0)
        self.longest_sound = max((len(sound.replace(" ", "")) for _, sound in self._sounds), default=0)
        """Phonemes in the longest phrase: how long a command can take to say."""

    def match(self, text: str) -> Match | None:
        """The nearest phrase to ``text`` with its distance; None for an empty transcript."""
        [sound, *_] = phonemes([text, *normalize(text).split()])  # and its words: one espeak-ng call
        if not sound:
            return None
        scored = self._ranked(sound)
        best_distance, best = scored[0]
        intent = self.phrases[best]
        other = next((d for d, name in scored[1:] if self.phrases[name] != intent), 1.0)
        return Match(best, best_distance, other, worst_word(word_sounds(text), self._words[best]))

    def nearest(self, text: str, count: int) -> list[tuple[float, str]]:
        """The ``count`` phrases nearest to ``text`` as (distance, phrase), nearest first."""
        [sound] = phonemes([text])
        return self._ranked(sound)[:count] if sound else []

    def _ranked(self, sound: str) -> list[tuple[float, str]]:
        """Every phrase as (distance to ``sound``, phrase), nearest first."""
        return sorted((Levenshtein.normalized_distance(sound, ph), name) for name, ph in self._sounds)

    def worst_word(self, text: str, phrase: str) -> float:
        """``Match.worst_word`` of ``text`` against one configured ``phrase`` (1.0: no words)."""
        heard = word_sounds(text)
        return worst_word(heard, self._words[phrase]) if heard else 1.0

    def distance(self, text: str, phrase: str) -> float:
        """Phoneme distance of ``text`` to one configured ``phrase`` as a whole (1.0: no words)."""
        [sound] = phonemes([text])
        return Levenshtein.normalized_distance(sound, dict(self._sounds)[phrase]) if sound else 1.0


def word_sounds(text: str) -> list[str]:
    """The phonemes of each word of ``text``, word by word.

    Not the words' sounds in the sentence: there espeak-ng joins an unstressed word to the next
    ("in the" is one word, ``InD@``), so "In the session." misheard for "end the session" had
    two words where the phrase has three, and a word counted as never heard."""
    return [sound for sound in phonemes(normalize(text).split()) if sound]


def worst_word(heard: list[str], phrase: list[str]) -> float:
    """Align the heard words to the phrase's words (phonemes) and return the worst word's cost.

    A phrase word may be heard as one or two words ("debrief" as "the brief") and two phrase
    words as one ("time is" as "time's"); a phrase word not heard, or a heard word left over,
    costs 1. The alignment minimizes the total cost; the result is the largest single cost on it.
    """
    n, m = len(phrase), len(heard)
    inf = (float("inf"), 1.0)
    best = [[inf] * (m + 1) for _ in range(n + 1)]  # (total, worst) per prefix pair
    best[0][0] = (0.0, 0.0)

    def step(i: int, j: int, prev: tuple[float, float], cost: float) -> None:
        total, worst = prev[0] + cost, max(prev[1], cost)
        if (total, worst) < best[i][j]:
            best[i][j] = (total, worst)

    def d(a: str, b: str) -> float:
        return Levenshtein.normalized_distance(a, b)

    def merged(a: str, b: str) -> float:
        # two words for one only when they sound alike: else a whole missing ("say again" for
        # "say that again") or extra word ("cancel that thought") would hide in the merge
        cost = d(a, b)
        return cost if cost <= MERGE_MAX else 1.0

    for i in range(n + 1):
        for j in range(m + 1):
            here = best[i][j]
            if here == inf:
                continue
            if i < n:
                step(i + 1, j, here, 1.0)
            if j < m:
                step(i, j + 1, here, 1.0)
            if i < n and j < m:
                step(i + 1, j + 1, here, d(phrase[i], heard[j]))
            if i < n and j + 1 < m:
                step(i + 1, j + 2, here, merged(phrase[i], heard[j] + heard[j + 1]))
            if i + 1 < n and j < m:
                step(i + 2, j + 1, here, merged(phrase[i] + phrase[i + 1], heard[j]))
    return best[n][m][1]
