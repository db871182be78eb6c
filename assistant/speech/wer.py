"""Word error rate: how tests and benchmarks judge a transcript against what was said."""

from __future__ import annotations

import re

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})
_SPELLINGS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "ok": "okay"}
_BRITISH = {f"{stem}{end}": f"{american}{end}"
            for stem, american in (("colour", "color"), ("favour", "favor"), ("honour", "honor"),
                                   ("neighbour", "neighbor"), ("behaviour", "behavior"),
                                   ("flavour", "flavor"), ("humour", "humor"), ("labour", "labor"),
                                   ("harbour", "harbor"), ("centre", "center"), ("metre", "meter"),
                                   ("theatre", "theater"), ("grey", "gray"))
            for end in ("", "s", "ed", "ing", "ful", "ite", "ites")}
"""British spellings -> American: Moonshine writes "colors" for a partner's "colours"."""
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def normalize(text: str) -> list[str]:
    """Words in lowercase without punctuation, so "Mr. Dashwood," matches "mister dashwood".

    Engines disagree on spelling, not on what was said, so this evens out the usual differences:
    apostrophes inside words stay ("don't"); hyphens split words; whole numbers below 1000 are
    spelled out ("10" -> "ten"); a few abbreviations are expanded ("mr" -> "mister"); common
    British spellings become American ("colours" -> "colors").
    """
    text = text.translate(_APOSTROPHES).lower()
    text = re.sub(r"[^\w' ]+", " ", text.replace("-", " "))
    words: list[str] = []
    for word in (w.strip("'") for w in text.split()):
        if word.isdigit() and len(word) <= 3:
            words.extend(number_words(int(word)).split())
        elif word:
            words.append(_SPELLINGS.get(word) or _BRITISH.get(word, word))
    return words


def number_words(n: int) -> str:
    """0..999 in words without "and" ("one hundred five"), the way people are transcribed."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    rest = n % 100
    return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words (substitutions, deletions, insertions all cost 1)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, start=1):
        current = [i]
        for j, hyp_word in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1]


def wer(reference: str, hypothesis: str) -> float:
    """Word errors per reference word (0.0 is perfect; can exceed 1.0 with many insertions).

    An empty reference gives 0.0 for an empty hypothesis and 1.0 otherwise.
    """
    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(ref, hyp) / len(ref)


def corpus_wer(pairs: list[tuple[str, str]]) -> float:
    """Total word errors over total reference words, for (reference, hypothesis) pairs."""
    errors = sum(edit_distance(normalize(r), normalize(h)) for r, h in pairs)
    words = sum(len(normalize(r)) for r, _ in pairs)
    return errors / words if words else 0.0
