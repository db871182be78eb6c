"""Words in answers: tokens, stop words, a small lexicon of feelings, and the tone of a text.

Everything here is deliberately small and readable, so a couple can see why a word counted:

- ``content_words`` drops the stop words below (function words, fillers, and the words every
  answer to our questions uses: "think", "really", "today"...).
- ``theme_key`` groups a theme's forms by their stems ("wobbles", "wobbled"); the form said
  most often is the one shown.
- ``stem`` folds simple English endings ("painted", "painting", "paints" -> "paint") so that a
  next step and a later answer can be compared; it is used for matching only, never shown.
- ``FEELINGS`` is a short lexicon of feeling words in eight groups. A word counts only as a whole
  word, and not when one of the three words before it negates it ("not tired", "never anxious");
  outside answers about feelings only where it says how someone feels ("I was so happy", not
  "the happy accident"), and a word that often names things ("down", "low", "stuck") even in
  those only so or standing bare ("a bit down").
- ``tone`` is VADER's compound score (-1 .. +1), a lexicon and rules made for short informal
  text (``vaderSentiment``, MIT, lexicon bundled: nothing is downloaded).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
"""A word in any script, with one apostrophe ("don't"): a QA pass found "naïve" counted as the
theme "na ve", "café" as "caf", and answers in Cyrillic as no words at all (0 % of the words)."""

STOP_WORDS = frozenset("""
a about above after again against all almost also am an and any are aren't around as at
back be because been before being below between both but by can can't could couldn't
did didn't do does doesn't doing don't down during each else enough even ever every few
for from further get gets getting got had hadn't has hasn't have haven't having he her here
hers herself him himself his how i i'd i'll i'm i've if in into is isn't it it's its itself
just kind least less let let's like little lot lots made make makes many may me more most
much must my myself need needs no nor not now of off on once one only or other our ours
ourselves out over own quite rather really same she should shouldn't so some something still
such than that that's the their theirs them themselves then there there's these they they're
thing things think this those though through to today too under until up upon us very was
wasn't we we'd we'll we're we've were weren't what what's when where which while who whom why
will with won't would wouldn't yeah yes yet you you're your yours yourself yourselves
bit feel feeling felt went go going gone well good time okay ok um uh maybe actually
goes without nothing anything everything
two three four five six seven eight nine ten twenty half
""".split())
"""Words that say nothing about a theme (function words, fillers, number words, our questions'
own words; QA passes found "nothing" the second challenge, and "garden without", "plant goes"
and "lost two" as themes)."""

NEGATIONS = frozenset({"not", "no", "never", "don't", "didn't", "isn't", "wasn't", "aren't", "weren't",
                       "can't", "couldn't", "won't", "hardly", "nor", "neither", "less"})
"""Words that, up to three words before a feeling word, say it is not (or less) felt: a QA pass
found "I was less nervous today" counted as anxious."""

FEELINGS: dict[str, tuple[str, ...]] = {
    "joyful": ("happy", "glad", "joy", "joyful", "excited", "thrilled", "delighted", "cheerful", "elated",
               "fun", "playful"),
    "calm": ("calm", "relaxed", "peaceful", "content", "serene", "settled", "centered", "grounded", "easy"),
    "grateful": ("grateful", "thankful", "proud", "satisfied", "fulfilled", "appreciated", "connected",
                 "close", "loved"),
    "energized": ("energized", "energetic", "inspired", "motivated", "curious", "creative", "eager",
                  "focused", "alive", "hopeful"),
    "tired": ("tired", "exhausted", "sleepy", "drained", "weary", "worn", "fatigued", "sluggish"),
    "anxious": ("anxious", "nervous", "worried", "stressed", "tense", "overwhelmed", "uneasy", "afraid",
                "scared", "rushed", "pressured"),
    "frustrated": ("frustrated", "annoyed", "irritated", "angry", "impatient", "stuck", "blocked", "cross"),
    "sad": ("sad", "down", "low", "disappointed", "lonely", "discouraged", "hurt", "upset", "flat"),
}
"""Feeling words by group: the pleasant four first, then the unpleasant four."""

FEELING_GROUP = {word: group for group, words in FEELINGS.items() for word in words}


def tokens(text: str) -> list[str]:
    """Lower-case words in any script, accents composed ("cafe\u0301" is "café"), with their
    apostrophes ("don't" stays one word)."""
    return WORD.findall(unicodedata.normalize("NFC", text.lower().replace("’", "'")))


SEARCH_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
"""A word in any script for search, with any number of apostrophes (``WORD`` keeps one)."""

UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
"""Scripts written without spaces between words (Thai, Lao, Burmese, Khmer, kana, Han)."""


def search_tokens(text: str) -> list[str]:
    """Words in any script, case folded, accents kept ("Café" -> "café"); ``holds`` folds them
    where the query has none."""
    return SEARCH_WORD.findall(unicodedata.normalize("NFKC", text.casefold().replace("’", "'")))


def unaccented(word: str) -> str:
    """``word`` without its accents ("café" -> "cafe")."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def holds(text: str, wanted: list[str]) -> bool:
    """Whether ``text`` holds every one of ``wanted`` (``search_tokens``) at the start of one of
    its words ("brush" finds "brushes"), or anywhere for a word in a script written without
    spaces, where a run of letters is a phrase rather than a word. Accents: a word searched
    without them finds words with them ("cafe" finds "Café"); one searched with them finds
    words written otherwise only whole ("café" finds "cafe", but "ça" not "calm": found in a
    QA pass)."""
    have = search_tokens(text)
    bare = [unaccented(h) for h in have]

    def found(q: str) -> bool:
        plain = unaccented(q)
        if UNSPACED.search(q):
            return any(q in h or (plain == q and q in b) for h, b in zip(have, bare))
        forms = base_forms(q)
        return any(h.startswith(q) or (plain == q and b.startswith(q)) or b == plain or h.startswith(forms)
                   for h, b in zip(have, bare))

    return all(found(q) for q in wanted)


INFLECTIONS = (("ies", ("y",)), ("ches", ("ch",)), ("shes", ("sh",)), ("sses", ("ss",)), ("xes", ("x",)),
                ("s", ("",)), ("ing", ("", "e")), ("ed", ("", "e")))
"""English endings a searched word may carry, and what its base ends in instead: "ladders" ->
"ladder", "brushes" -> "brush", "skies" -> "sky", "making" -> "mak(e)", "noted" -> "not(e)"."""


def base_forms(word: str) -> tuple[str, ...]:
    """What an inflected English ``word`` may come from, to search for as the start of a word
    too: "ladders" finds "ladder", "painting" finds "painted" (a QA pass found nothing for
    "ladders" where "ladder" found 6 answers). A base shorter than three letters or a stop word is
    left out ("bed" is no "b" + "ed", "noted" no "not" + "ed"); so is a word not in plain Latin
    letters."""
    if not word.isascii() or not word.isalpha():
        return ()
    for ending, bases in INFLECTIONS:
        if word.endswith(ending) and not (ending == "s" and word.endswith("ss")):
            stem = word[: -len(ending)]
            return tuple(form for base in bases if len(form := stem + base) >= 3 and is_content(form))
    return ()


@lru_cache(maxsize=65536)
def is_content(token: str) -> bool:
    """Not a stop word, a number or a single letter."""
    return token not in STOP_WORDS and len(token) > 1 and not token.isdigit()


def content_words(text: str | list[str]) -> list[str]:
    """Tokens (of a text, or already split) without stop words, numbers or one-letter words."""
    return [t for t in (tokens(text) if isinstance(text, str) else text) if is_content(t)]


def phrases(text: str | list[str]) -> set[str]:
    """Content words and pairs of content words that stand side by side ("blue sky")."""
    found: set[str] = set()
    run: list[str] = []
    for token in (tokens(text) if isinstance(text, str) else text) + [""]:
        if token and is_content(token):
            found.add(token)
            if run:
                found.add(f"{run[-1]} {token}")
            run.append(token)
        else:
            run = []
    return found


@lru_cache(maxsize=65536)
def theme_key(term: str) -> str:
    """A theme's words by their stems (``stem``: endings of inflection only): "ladder wobbles" and
    "ladder wobbled", "tomato" and "tomatoes" are one theme (a QA pass saw neither come back).
    Not Snowball's stemmer, which also takes off endings that make other words: "iron" and
    "ironic", "experiment" and "experience" were one theme with it (a QA pass)."""
    return " ".join(stem(word) for word in term.split())


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A crude stem for matching: painted, painting, paints -> paint; skies -> sky."""
    for suffix, replace in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + replace
    return word


AMBIGUOUS_FEELINGS = frozenset("down low flat close cross stuck easy fun alive worn content settled blocked hurt".split())
"""Feeling words that more often name a thing or a place ("the paint ran down", "the low beds",
"cross the path", "the stuck gate"): they count only where they say how someone feels
(``_says_feeling``) or stand bare in an answer about feelings ("a bit down")."""

FEELING_VERBS = frozenset("feel feels felt feeling".split())
BEING_VERBS = frozenset("am i'm we're you're they're was were are is got get gets getting seem seems seemed became "
                        "become stayed".split())
PERSONS = frozenset("i we you he she they both all".split())
DEGREE = frozenset("so really very quite pretty a bit little kind sort of too all just still more less rather "
                   "somewhat both fairly totally".split())
"""Words that may stand between a verb and the feeling ("I felt a bit stuck", "we were both so low")."""
JOINED = frozenset("and but or".split())


def _before_degree(words: list[str], i: int) -> int:
    """The index of the word before ``words[i]`` once the degree words before it are passed (-1
    at the start)."""
    j = i - 1
    while j >= 0 and words[j] in DEGREE and i - j <= 3:
        j -= 1
    return j


def _says_feeling(words: list[str], i: int) -> bool:
    """``words[i]`` says how someone feels: "I felt stuck", "we were so low", "I'm happy"."""
    j = _before_degree(words, i)
    if j < 0:
        return False
    verb = words[j]
    if verb in FEELING_VERBS or verb in ("i'm", "we're", "you're", "they're"):
        return True
    return verb in BEING_VERBS and not PERSONS.isdisjoint(words[max(0, j - 2):j])


def _bare(words: list[str], i: int) -> bool:
    """``words[i]`` opens the answer or a part joined by "and", "but", "or" ("tired and a bit
    down")."""
    j = _before_degree(words, i)
    return j < 0 or words[j] in JOINED


def feeling_words(text: str | list[str], about_feelings: bool = True) -> list[tuple[str, str]]:
    """(word, group) for each feeling word named and not negated, in order.

    ``about_feelings``: the answer is to a question about feelings ("How are you feeling?"),
    where a feeling word counts wherever it stands, and an ``AMBIGUOUS_FEELINGS`` one where it
    says how someone feels or stands bare. Elsewhere ("What worked well?") a word counts only
    where it says how someone feels: "the happy accident" and "the low beds" are no feelings
    (found in a QA pass: garden talk read as "sad 4, frustrated 3")."""
    found = []
    words = tokens(text) if isinstance(text, str) else text
    if FEELING_GROUP.keys().isdisjoint(words):
        return found
    for i, word in enumerate(words):
        group = FEELING_GROUP.get(word)
        if not group or not NEGATIONS.isdisjoint(words[max(0, i - 3):i]):
            continue
        if _says_feeling(words, i) or (about_feelings and (word not in AMBIGUOUS_FEELINGS or _bare(words, i))):
            found.append((word, group))
    return found


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def tone(answers: list[str]) -> float | None:
    """Mean VADER compound score of the answers (-1 very negative .. +1 very positive); None if none.

    Each answer is scored alone (VADER is made for short texts) and the scores averaged.
    """
    scored = [_analyzer().polarity_scores(a)["compound"] for a in answers if a.strip()]
    return round(sum(scored) / len(scored), 3) if scored else None
