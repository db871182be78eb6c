"""End of turn: is the partner done answering, or only pausing to think?

People pause mid-answer ("honestly I felt ... a bit lost at first, but ..."). A fixed trailing
silence either cuts them off (short) or keeps them waiting after every answer (long). Duet
instead ends each *stretch* of speech on a short pause, transcribes what was said so far (the
text is needed anyway, and decoding during the pause takes it off the turn gap), and judges it:

* it sounds finished: the turn ends after ``end_pause`` seconds of silence;
* it sounds unfinished (ends in "and", "but", "um", "I felt", a preposition, an article, a
  trailing comma or ellipsis from Whisper's punctuation ...), or its voice rose at the end (the
  recognizer wrote a "?"): Duet waits up to ``max_pause`` seconds for more, and the
  continuation joins the same answer.

A half sentence is often misheard as a whole one ("honestly I felt" as "Honestly I failed.",
"start with the" as "start with them."), usually with good overall confidence. Two more signals
from the recognizer (Moonshine gives them; Whisper does not) catch most of these:

* its other likely readings of the last word (``Transcript.readings``): if one of them sounds
  unfinished ("Honestly I felt.", "We should probably start with."), the answer is waited on;
* the probability it gave the utterance ending right after the last word
  (``Transcript.end_probability``): below ``min_end_probability`` it expected more words.

Measured with Moonshine through the real Listener on the benchmark's paused answers (46): the
two signals keep 34 of 46 whole instead of 26 (bench section 8; 36 of 46 since two LibriVox
pauses spliced from speech tails were fixed, 35 since its LibriVox cuts are at word boundaries,
not inside words; 36 again since a rising end waits, ``ends_rising``; 37 since the answer
detector hears quieter sound, ``vad.ENERGY_FLOOR``, which cuts the pauses' room sound
differently: two gained, one lost). On an AVX-512 machine, whose int8 kernels make Moonshine
read some voices otherwise, 33; 34 since the listener reads a whole answer that came out
wordless again, told that words are there). Offline, on four espeak-ng
voices not in the benchmark (48 paused answers), they kept 35 instead of 28; of 159 finished
answers (espeak-ng and held-out voices, every real recording, the paused answers once whole)
they made one more wait: "... blue sky today." also read as "... sky to May." ("may" is
dangling). Through the real audio path the turn gap stayed 0.62 s median (n=22), one finished
answer of 22 waited the full pause. On an AVX-512 machine two did (a full run's 95th percentile
3.57 s against 1.4 s allowed); a last word the recognizer writes as a name ("May", "Will") is
now not dangling (``_a_name``): on 148 finished answers offline (13 voices, every real
recording) 7 waited before, 6 after (the other 6 read unsurely, confidence or end probability
low), no paused answer lost (34 of 46), and live 22 of 22 finished answers got the next prompt
within 0.77 s.

A third signal catches halves whose misread last word is sure and has no likely other token:
the recognizer scores the few words after which an answer goes on (``GOING_ON``: "felt",
"the", "really", ...) that it found likeliest where the last word begins in place of that word,
and gives those scoring near it as other readings ("Honestly, I failed." also "Honestly, I
felt"; ``asr_moonshine.NEAR_ENDING``). Through the real Listener: the benchmark's paused
answers kept whole 34 -> 39 of 46 (all three "Honestly, I failed.", "... start with her.",
"I want me a lick." as "... a bit"); four held-out voices 38 -> 40 of 48; and 28 other halves
in four more voices 12 -> 17. It made no finished answer wait (74: eight voices, every real
recording) and 2 more of 124 short ones ("Excited and ready to play it." also "... play in";
50 waited before, mostly "So" and "Good, I think"); the live turn gap was 0.57 / 0.66 s, and
0.58 / 3.57 s in a second run, where two finished answers waited: 'Our next stamp is "Majill".'
(unsure, and its end probability read before the closing quote: 0.04; without the going-on
readings it waits too) and "... the Blue Skype a day." (not reproduced offline). The end is now
read after a closing quote (``asr_moonshine``): of the 74 finished answers, 3 -> 2 waited
(en+m4's "'Oh, I guess ... too slowly'" ended at 0.32 read at the quote); live, 0.57 / 0.73 s.
A reading that only splits the last word in two, with a guess at the rest of its sound
("Happy" also "Have it"), no longer makes the answer wait (``_another_word_there``): with
scripts/turn_sweep.py, 6 of 189 short answers and 2 of 106 finished ones in 14 voices stopped
waiting, no half of 176 was cut the sooner. A first stretch that opens with a joining word
("But we could try.", often a misread "uh") waits too (``opens_joined``; 39 -> 43 of 46 with
scripts/turn_sweep.py). So does a half that ends where an adjective is still to come after a
verb that takes one ("I felt a little", "it feels like": ``_degree_left_open``; found in
``duet run`` with voices no benchmark uses, where such halves were cut 4 times in 4). What is
left is a half that is a whole sentence ("He might even have been made."): the text cannot
tell, and barge-in (bargein.py) is the remedy.

How often a finished answer waits, live (stop 44: section 8's turn gap run ten times, 220
finished answers): 10 waited ``max_pause`` (5 %), so the 95th percentile (1.4 s allowed) was
missed in 3 of 10 runs, where two or three of the 22 answers waited. Six of the ten were one
sentence in two voices ("... the blue sky today": "today" read as "to be", or as "to play",
"to bed" or "to mid" with "to be" among the other readings, or "Skype a day" also "a bit"); the
rest were read unsurely ("Our next step is Mathiel."). The signals that keep halves whole are
what make these wait. Since stop 47 an answer waited on only because it was read unsurely is
heard again from 10 ms later (``listener.judged``; Moonshine's reading of a hard voice turns on
where its frames fall). In five live runs (110 finished answers) four waited, one in each of
four runs, all en-us+f4's "... the blue sky today" ("to mid" or "to bed" with "to be" among
the other readings; once "... loose-cited med." also read "... loose-cited may"); one unsure
reading was settled ("I'll relax and step in the field." heard again as "Other next step is the
wheels."). The 95th percentile was 0.67-0.69 s in all five.

``max_pause`` is the hard bound: a partner who goes quiet mid-sentence is not waited on forever.
The decision is pure (text and the recognizer's confidence; no audio, no clock), so it is tested
on transcripts directly. The thresholds were chosen on the benchmark corpus
(scripts/bench_turns.py), not on the tests' sentences.

Measured and not used: Pipecat's audio end-of-turn model smart-turn v3.2 (ONNX, run with
onnxruntime) took about 0.3 s per call here and called most espeak-ng half-sentences finished
(they end on a falling tone) and some finished LibriVox sentences unfinished. Measured again
on the LibriVox readings cut at every word boundary (50 halves; 25 of them the text judges
finished): below 0.5 it caught 12 of those 25 (and none of the 23 espeak-ng halves the text
misses), but called 3 of 22 finished real recordings and 26 of 96 finished espeak-ng answers
unfinished. Each would wait ``max_pause``, and the turn gap's 95th percentile (1.4 s at most)
allows one finished answer in twenty. Two more signals, on the same stretches, separated
nothing a threshold could use: the pitch at the end against the speaker's median
(praat-parselmouth; the finished LibriVox sentences, read mid-paragraph, end as high as the cut
ones), and the chance of the sentence ending there in pocketsphinx's English trigram model
("... when we talked." scored lower than most halves). Nor does a sentence that opens with a
subordinating conjunction and has no comma ("Unless to be rather cold-hearted."): with
scripts/turn_sweep.py it kept one more paused answer of 46 whole and made one finished answer
of 106 wait ("Unless to be rather cold-hearted and rather selfish is to be ill-disposed.").

How fragile the catch of a misheard half is (stop 63): a live QA pass saw en-gb-scotland+m4's
"Honestly I felt" cut 3 times in 3 (read "Honestly I failed.", "felt" scoring -4.2 to -5.7
against the -4.0 allowed). Fed 0 to 27 ms later offline it waited at 3 of 10 offsets. Measured
and not taken, with scripts/turn_sweep.py (559 answers; as it is: paused 49 of 52, held-out 37
of 42, halves waited on 80 of 96, finished not kept waiting 126 of 134, short 112 of 189): a
stretch waiting when either hearing (as it came, and 10 ms later) sounds unfinished, 49 / 38 /
83 / 121 / 109 (five more finished answers wait 3.5 s, which the turn gap's 95th percentile
cannot take); going-on readings from -4.5, 49 / 37 / 80 / 125 / 109; from -5.0, 49 / 37 / 82 /
123 / 105.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

_WORD = re.compile(r"[a-z0-9']+")

FILLERS = frozenset("um umm uh uhh er erm hmm mm ah".split())
"""Sounds a partner makes while thinking; no answer on their own."""

DANGLING_WORDS = FILLERS | frozenset("""
and but so or nor because cause 'cause cos since although though while whereas if unless until
when whenever where whether that which who whom whose then yet also plus
like
a an the my our your their his its this these those some any every each no
of to in on at for with about from by into onto over under through between after before
without than as towards toward upon across around during
is am are was were be been being do does did have has had will would could should can
might must shall may
i we you they he she it i'm we're you're they're it's there's i've we've i'd we'd
felt feel feeling think thought guess mean suppose wonder wish hope want wanted need
really very quite rather pretty kind sort bit more most less least just even still maybe
not don't didn't wasn't weren't isn't aren't can't couldn't wouldn't won't
""".split())
"""Last words after which an answer is unfinished: conjunctions, fillers, articles and other
determiners, prepositions, auxiliaries, bare subjects, verbs of feeling or thinking that need
an object ("I felt", "I think"), and intensifiers ("really", "a bit")."""

FINDING_OUT = frozenset("noticed realized realised learned learnt discovered remembered found saw".split())
"""Verbs of finding out, which need an object too: an answer ending on one is unfinished ("I
noticed ... that I relax when we work side by side" was cut at "I noticed." twice in a QA pass).
Not among the ``GOING_ON`` words the answer engine scores in place of a last word (that list
was measured as it is)."""

OPENERS = frozenset({"honestly", "actually", "basically", "personally", "frankly", "truthfully",
                     "to be honest", "to be fair", "i mean", "you know", "for me", "to me"})
"""Words that open what a partner is about to say and are no answer on their own: an answer
that is only one of them (fillers aside) waits. Found by a QA pass in ``duet run``: "Honestly
... the ladder again" was stored as "Honestly." (read surely, 0.94) in 3 voices of 3."""

ANSWER_WORDS = frozenset({"not", "no", "nothing", "yes", "yeah", "fine", "good", "okay", "ok", "great", "nope"})
"""Words after which a closing "really" ends a whole answer ("Nothing really.", "Not really."),
where after a verb or a subject it is a degree still to come ("I was really ...")."""

FINISHING_WORDS = frozenset({"so", "too", "though", "either", "yet", "like", "more", "less",
                             "most", "it", "that", "this", "those", "these", "me", "you",
                             "them", "us", "her", "him", "mine", "ours"})
"""Words in ``DANGLING_WORDS`` that often end a whole sentence ("I liked it", "me too",
"we did more"); they count as unfinished only without a closing full stop. Not alone when they
join on what follows ("So.", "Though."): said on its own, such a word opens an answer. Measured
with scripts/turn_sweep.py: halves waited on 75 -> 77 of 94 (two voices' "so ..." read "So."),
nothing else changed (paused 43 of 46, finished 100 of 106, short 112 of 189); found in flite's
voices (scripts/heldout_voices.py), where one paused answer, "so ... our next step is ...", was
cut at "So."."""

GOING_ON = DANGLING_WORDS - FILLERS - FINISHING_WORDS
"""Words after which an answer surely goes on. The answer engine scores the likeliest of them
in place of a last word it read surely and gives those that score near it as other readings
(``asr_moonshine.NEAR_ENDING``): "Honestly, I failed." may be "honestly I felt" and wait."""


@dataclass(frozen=True)
class TurnPolicy:
    """How long a pause ends a turn, depending on how the answer so far sounds."""

    end_pause: float = 0.7
    """Silence (s) that ends an answer that sounds finished (and ends each stretch, which is
    then transcribed)."""
    max_pause: float = 3.5
    """Silence (s) that ends any answer, finished-sounding or not: the hard upper bound."""
    min_confidence: float = 0.55
    """Below this mean word confidence the text is not trusted to sound finished (a misheard
    half-sentence often reads as a whole one): wait as for an unfinished answer. Not for an
    answer of one word: misread, it is still one word said and ended ("Come" for "Calm", at
    0.45-0.54 in five voices), and one read surely ends the turn anyway. Measured on bench
    section 8's short answers (7 voices, 3 lead-ins): 52 -> 46 of 124 waited ``max_pause``; no
    paused answer of its 46, or of 48 in four other voices, was cut the sooner. Measured again
    at stop 44 (scripts/turn_sweep.py): without it, 3 fewer of 106 finished answers and 14 fewer
    of 189 short ones wait, but one held-out paused answer of 36 and 3 of 94 halves are cut
    sooner ("We call the dry." for "uh we could try"); kept, as a cut loses words and a wait
    costs 3 s."""

    min_end_probability: float = 0.5
    """Below this probability of the utterance ending after its last word the recognizer
    expected more words: wait as for an unfinished answer. (The lowest measured on finished
    answers was 0.70.)"""

    long_answer: float = 4.5
    """Seconds of answer (its audio so far, about 3.7 s of speech) from which a finished-sounding
    pause must last ``long_pause`` to end it: a partner who has been talking a while is telling
    something, and pauses between its sentences (``long_end_pause``). A one-sentence answer
    (section 8's finished ones: 1.4-2.3 s of speech) is not one."""

    long_pause: float = 1.2
    """The silence (s) that ends a finished-sounding answer of ``long_answer`` seconds or more.
    Chosen on long answers in section 8's voices (``bench_turns.LONG``, pauses of 0.5-1.0 s): with
    ``end_pause`` 0.7 s, 13 of 22 kept whole at 1.2 s, 12 at 1.0 s, 5-6 with either alone and
    none as before (0.5 s, no long pause). The finished answers this long (three LibriVox ones)
    wait it, within the turn gap's 1.4 s."""

    def dictation(self, pause: float) -> "TurnPolicy":
        """A pause of ``pause`` seconds ends it, however finished what was said sounds: a note is
        dictated in one go, and "Buy more blue paint" ended at 0.7 s, before "... and two new
        brushes" (a live QA pass; README promised 1.5 s). Its stretches still end at ``end_pause``,
        so a sound that adds no words is told apart from words (``Listener.capture_answer``)."""
        pause = max(pause, self.end_pause)
        return replace(self, max_pause=pause, long_pause=pause, long_answer=0.0)

    def long_end_pause(self, pause: float, seconds: float) -> float:
        """``pause`` (from ``pause_for``) for an answer whose audio so far lasts ``seconds``.

        A short answer ("Fine.", "Calm and ready to start") ends ``end_pause`` after its last
        word, so the next question comes at once. A long one ends only after ``long_pause``:
        found in ``duet run`` with a 30 s answer said with 0.6 s between its phrases, which Duet
        cut at the first ("... a bit tired from work this week"), asked the next question over
        the rest, and handed the rest to the next questions, one the other partner's."""
        return max(pause, self.long_pause) if seconds >= self.long_answer else pause

    def pause_for(self, text: str, confidence: float | None = None, *,
                  readings: Iterable[str] = (), end_probability: float | None = None,
                  opening: bool = False) -> float:
        """Silence (s) after ``text`` (recognized with ``confidence``) that ends the turn.

        ``readings``: the recognizer's other likely readings of the answer's last word (whole
        texts); one that sounds unfinished makes the answer wait, unless it splits the last
        word in two and guesses at the rest of its sound (``_another_word_there``).
        ``end_probability``: how likely the recognizer found it that the answer ends after its
        last word. ``opening``: ``text`` is the answer's first stretch (``opens_joined``).
        """
        if sounds_unfinished(text) or ends_rising(text) or (opening and opens_joined(text)):
            return self.max_pause
        if confidence is not None and confidence < self.min_confidence and len(_words(text)) > 1:
            return self.max_pause
        if any(_another_word_there(reading, text) and sounds_unfinished(reading) for reading in readings):
            return self.max_pause  # heard one way as finished, another as unfinished
        if end_probability is not None and end_probability < self.min_end_probability:
            return self.max_pause
        return self.end_pause

    def unsure_only(self, text: str, confidence: float | None = None, *,
                    readings: Iterable[str] = (), end_probability: float | None = None,
                    opening: bool = False) -> bool:
        """Whether ``pause_for`` waits only because the recognizer was unsure of the words: the
        text, its other readings and its end all sound finished. Such a wait is what another
        hearing of the same audio can settle (``listener.judged``)."""
        readings = tuple(readings)
        sure = self.pause_for(text, None, readings=readings, end_probability=end_probability, opening=opening)
        return sure < self.pause_for(text, confidence, readings=readings, end_probability=end_probability,
                                     opening=opening)


JOINING_WORDS = frozenset("""
and but so or nor because cause 'cause cos since although though while whereas if unless until
when then
""".split()) | FILLERS
"""Words that join on what follows: where a reading splits the last word in two, only these
as its second word are a sign that the partner goes on (``_another_word_there``)."""


def _another_word_there(reading: str, text: str) -> bool:
    """``reading`` hears another last word than ``text``, not a guess at the rest of its sound.

    The engine's other readings begin the last word with another likely token and decode on
    from there. Some split one word into two, and the second is mostly a guess at the rest of
    the same sound ("Happy" also "Have it", "... sky today." also "... sky to be."): measured
    with scripts/turn_sweep.py (Moonshine, the real Listener; section 8's answers in 14
    espeak-ng voices and every real recording), such readings made 6 of 189 short answers and
    2 of 106 finished ones wait ``max_pause``, and kept none of 176 halves from being cut. A
    conjunction or filler as the second word is kept: a name misheard from two words ("on the
    frame and" read "on the Freymen.") is split back so. A reading of as many words or fewer
    always counts ("Honestly, I failed." also "Honestly, I felt"; "Two" also "So"); an empty
    one proves nothing."""
    words = _words(reading)
    if not words:
        return False
    return len(words) <= len(_words(text)) or words[-1] in JOINING_WORDS


JOINED_OPENINGS = frozenset({"and", "but", "or", "nor"})
"""Words that join a clause to one said before it (``opens_joined``): the coordinating
conjunctions of ``JOINING_WORDS``. Of its other words "so" opens whole answers, "unless" would
need a bound between 6 and 13 words to spare a finished one, and the rest were not tried."""

OPENING_CLAUSE = 15
"""Most words (fillers aside) of a first stretch that ``opens_joined`` reads as a fragment."""


def opens_joined(text: str) -> bool:
    """True when ``text``, the first stretch of an answer, opens with a joining word ("and",
    "but", "or", "nor"; fillers before it aside) and is short: it joins on to a thought that is
    still coming, so it is waited on however whole it sounds.

    A partner's "uh" or "um" before a thought is often written as "And" or "But" ("uh we could
    try" read "But we could try." and "And we come to try."), and a half said after such a start
    reads as a whole sentence. Measured with scripts/turn_sweep.py (Moonshine, the real
    Listener): section 8's paused answers kept whole 39 -> 43 of 46, four held-out voices 31 ->
    33 of 36, halves waited on 68 -> 75 of 94; no finished answer of 106 or short one of 189
    waited the more. Only the first stretch: once the partner has gone on, the whole answer is
    judged as any other, or every answer opening so would wait at its end. Only a short one
    (``OPENING_CLAUSE`` words): a long sentence opening so is a whole thought (a finished
    LibriVox sentence of 22 words, read mid-paragraph, opens with "And"); any bound from 9 to 21
    words decided the paused and finished answers alike. "so" opens whole answers too often
    ("So, our next step is ...") to count. The price: a short answer that opens so and is
    whole ("But I'm fine.") waits ``max_pause`` before the next question.
    """
    words = [word for word in _words(text) if word not in FILLERS]
    return bool(words) and words[0] in JOINED_OPENINGS and len(words) <= OPENING_CLAUSE


def ends_rising(text: str) -> bool:
    """True when the recognizer wrote the answer so far as a question: its voice rose at the end.

    Duet asks the questions; an answer that ends in "?" is more often a partner's voice rising
    mid-sentence ("And Mr. John?", "Had he married a more amiable?", cut from LibriVox readings)
    than a question back. Measured on 264 stretches (bench section 8's sentences and halves in 8
    espeak-ng voices, every real recording, LibriVox cut at every word boundary): no finished
    answer and none of 213 short ones came out with "?"; 5 of 50 LibriVox halves did, 4 of them
    otherwise judged finished. A question back ("Can we stop early?") waits ``max_pause``.
    Only the transcript is read this way, not its other readings: on that set the two rules
    made the same decisions, and this one is the narrower.
    """
    return text.rstrip().endswith("?")


def sounds_unfinished(text: str) -> bool:
    """True when ``text`` (a transcript of the answer so far) stops mid-thought.

    Empty text is unfinished (noise or a breath: wait for real words). Whisper's punctuation is
    used when present: a trailing comma, dash or ellipsis is unfinished, and a full stop, "!"
    or "?" rescues endings such as "I liked it." or "me too." (Whisper closes nearly everything
    with a full stop, "I felt a little anxious when." too, so a stop alone proves nothing.)
    """
    stripped = text.strip()
    words = _words(stripped)
    if not words:
        return True
    if re.search(r"(,|;|:|-|\u2014|\u2013|\.\.\.|\u2026)\s*$", stripped):
        return True
    closed = bool(re.search(r"[.!?]\s*[\"')\]]*$", stripped))
    if _degree_left_open(words) or " ".join(w for w in words if w not in FILLERS) in OPENERS:
        return True
    last = words[-1]
    if closed and last == "really" and len(words) >= 2 and words[-2] in ANSWER_WORDS:
        return False  # "Nothing really.": a QA pass waited 3.6 s after it three times
    if last in FINDING_OUT:
        return True
    if last not in DANGLING_WORDS or _a_name(stripped):
        return False
    if closed and last in FINISHING_WORDS and not (len(words) == 1 and last in JOINING_WORDS):
        return False  # "I think so.", "Me too."; a lone "So." opens what follows (``FINISHING_WORDS``)
    if closed and len(words) >= 3 and words[-3] in ("than", "as"):
        return False  # "... than he was.", "... as we did."
    return True


LINKING_VERBS = frozenset("""
feel feels felt feeling seem seems seemed get gets got getting look looks looked sound sounds
sounded become became be been being am is are was were i'm it's we're you're they're he's she's
""".split())
"""Verbs that take an adjective after them ("I felt calm", "it got easier")."""


OPEN_AFTER_LINKING = (("a", "little"), ("so",), ("like",))
"""Endings that leave an adjective to come when a linking verb is before them ("I felt a
little", "I was so", "it feels like"). Said elsewhere they end sentences ("we talked a little",
"I think so", "do as you like"): "so" and "like" are ``FINISHING_WORDS``, "little" no dangling
word at all."""
BETWEEN_LINKING = frozenset({"all", "just", "still", "also", "not"})
"""Words that may stand between the verb and the ending ("we were all a little")."""


def _degree_left_open(words: list[str]) -> bool:
    """The answer ends in ``OPEN_AFTER_LINKING`` right after a verb that takes an adjective: the
    adjective is still to come. Found by trying ``duet run`` with espeak-ng voices no test or
    benchmark used: "I felt a little ... unsure about the colours" was read "I felt a little."
    three times in four, the turn ended, and the rest was taken as the answer to the next
    question."""
    for ending in OPEN_AFTER_LINKING:
        if tuple(words[-len(ending):]) == ending:
            before = [word for word in words[:-len(ending)][-2:] if word not in BETWEEN_LINKING]
            return bool(before) and before[-1] in LINKING_VERBS
    return False


def _a_name(text: str) -> bool:
    """The last word is written as a name (capitalized, not "I", not starting a sentence): the
    month, not the verb ("... finish it in May."), Will, not will. The recognizer writes the
    words as it understood them; as a dangling word, "May" would make a finished answer wait
    ``max_pause`` (bench section 8: "... the blue sky today." also read "... sky to May.")."""
    words = list(re.finditer(r"[A-Za-z0-9'\u2019]+", text))
    last = words[-1]
    if not last.group()[0].isupper() or re.fullmatch(r"i(['\u2019].*)?", last.group().lower()):
        return False
    before = text[:last.start()].rstrip()
    return bool(before) and not before.endswith((".", "!", "?", "\u2026", '"', "\u201c", "(", ":"))


def _words(text: str) -> list[str]:
    """The words of ``text``, lower case, a curly apostrophe read as a straight one ("don\u2019t"
    is one word)."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def only_fillers(text: str) -> bool:
    """True when ``text`` has words and all of them are ``FILLERS`` ("Hmm.", "Um, uh...")."""
    words = _words(text)
    return bool(words) and all(word in FILLERS for word in words)
