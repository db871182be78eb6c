"""The built-in command spotter: transcribe the utterance, then match it to the phrases by sound.

A grammar decoder always returns its nearest phrase, so it cannot tell talk from a command.
Here each short utterance is transcribed free-form (built in, no download) and the transcript is
matched to the configured phrases by phonemes (``soundalike.py``):

* **Length gate.** An utterance much longer than the longest phrase could take is talk; it is
  not decoded at all (that also keeps the CPU low while the couple talks).
* **Noise taken out.** With Moonshine, steady noise (a fan, running water) is subtracted from
  the utterance first (``denoise.py``): in noise it loses the quiet sounds of a command ("All"
  for "pause" at 10 dB).
* **The engine's readings.** By default Moonshine base reads the utterance once
  (``MoonshineReadings``), and that reading is judged alone. With Whisper (when the answers
  are Whisper's, so that one model is loaded, not two) the encoder runs once and its output is
  decoded twice: once with the phrases as the prompt (biased towards them: better recall in
  noise) and once without (an unbiased second opinion). The prompt can make Whisper *invent*
  a phrase from noise ("Thanks" came out as "Nine minutes."), so a command is accepted only
  when the biased reading matches a phrase closely *and* the unbiased reading agrees: it
  names the same command within a looser distance, or it is exactly the same words. When the
  biased reading is exactly a phrase of several words, the unbiased one need only sound like
  that phrase as a whole (``agree_exact``): unprompted, Whisper often gets one short word
  wrong ("Cancel note", "Start the big meme"). Measured on section 3's corpus, the Moonshine
  spotter took no talk for a command in 67 minutes (Whisper's: 5) and decides sooner; it
  recognizes fewer synthesized commands in noise (BENCHMARKS.md has both).
* **Rescoring** (Moonshine). A reading turned down may be a near miss ("Start the degree."):
  the phrases nearest it by sound are scored by the engine's decoder as what was said, on the
  same encoded audio (``Hearing.score``, a few ms each), and one that scores well and clearly
  ahead of any other meaning is taken. Talk that only sounds like a phrase stays talk: the word
  not said ("paint" for "time") scores badly.
* **The engine's own reading as the yardstick** (Moonshine). A phrase weighed below the doubtful
  floor is still taken when it scores nearly as well as what the engine wrote itself, which it
  wrote unsurely (``weigh_relative``); and a phrase matched by sound to a reading the engine was
  sure of must score nearly as well as that reading ("Repeat the pattern." is not "repeat that":
  ``sound_relative``).
* **Talk near a command** (Moonshine). Whatever is about to be taken is scored once more
  beside talk that sounds like its command ("take another" for "take a note", "how much paint
  is left": ``NEAR_TALK``), and talk that scores as well stays talk (``near_talk``). A reading
  says what the engine wrote first, not which of two wordings it finds likelier.
* **A slower hearing** (Moonshine). A miss that weighing found close to some command is heard
  once more, resampled to 80 % speed: Moonshine reads many of espeak-ng's fast voices better
  slowed ("No." for "note" becomes "Note."), and each hearing is judged by the same rules.
  A miss still is heard once more from 10 ms later (its first moments of room sound left out):
  Moonshine's reading turns on where its frames fall. That hearing counts only when it reads
  the audio otherwise than the first did, and gives a command the session awaits no allowance.
  Should the listener's second look come meanwhile (the utterance with more of its pause), it
  is heard as it came before the hearings still to come: it often reads better, and sooner.
* **Whole utterance.** The whole transcript is compared with the whole phrase: "we should
  pause and look" is far from "pause". A clear margin to the nearest phrase of another command
  is also required, so one command is not taken for another.

Measured and not taken: a second engine's word. Replaying section 3 (5,280 decisions), every
utterance Moonshine weighed a command for at -4.5 or better and turned down (624 decisions on
command clips, 1,913 on talk) was read again by pocketsphinx's grammar decoder and by Whisper
tiny.en. Taking the command both engines name would have recovered 18 / 27 / 54 / 29 more
clips (clean / 20 / 10 / 5 dB) with pocketsphinx at -3.0 or better, but took 170 decisions on
talk ("How much soil is left?" is "how much time is left" to a grammar); with Whisper's reading
within 0.2 of the phrase by sound, 5 / 7 / 9 / 3 clips and 25 talk decisions (Whisper also reads
"take another" as "Take a note."). Either also loads a second model (pocketsphinx's grammar
decoder: 47 MB; a session peaks at 246 MB of the 250 allowed).

The spotter crosses the ``Recognizer`` seam: its stream returns a ``Transcript`` whose text is
the matched phrase (so ``CommandParser`` parses it as before) or empty for talk, with what was
actually heard in ``heard``. Every rejection is logged at debug level with the reason.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

import numpy as np

from assistant.session.commands import (
    MAX_EXTEND,
    NUMBER_WORDS,
    TENS,
    CommandParser,
    normalize,
    number_words,
    parse_number,
)
from assistant.speech.asr import SAMPLE_RATE, SAMPLE_WIDTH, BufferedStream, Transcript
from assistant.speech.denoise import quieted_pcm
from assistant.speech.soundalike import Match, SoundAlike, phonemes
from assistant.speech.wav import from_later, pcm_to_float

log = logging.getLogger(__name__)

ENGINE = "moonshine"
"""The engine a spotter loads when it is given none to share (``moonshine`` or ``whisper``)."""
PAD_SECONDS = 5
"""Whisper encodes at least this much audio (the utterance padded with silence)."""
MAX_TOKENS = 24
"""Most tokens one reading may add: a phrase needs under ten; a decoding loop or a prompted
reading that goes on listing variants ("Start the debrief, Start the degree, ...") stops here."""
PROMPT_JOIN = ", "
"""How the phrases are joined in the prompt."""
PROBE_MINUTES = (1, 2, 3, 5, 10, 15, 20, 30)
"""The minutes added time is weighed with first (``judge_weighed``): the numbers said most."""
MINUTES_NEAR = 4
"""When added time wins, the added-time phrases this near the winner by sound are weighed too."""
DOUBTFUL_LENGTH = 1.5
"""A reading taken at ``weigh_doubtful`` has at most this many times the phrase's phonemes:
the phrase must be the whole utterance ("Say you're gonna get it, I missed it." weighed
"say that again" at -2.0)."""
SLOW_PACE = 7.0
"""Phonemes a second of a slow speaker saying a command (espeak-ng's phonemes). On section 3's
corpus the slowest tenth of the synthesized clips (140 words a minute) ran 7.7-9.2 a second,
the real people's clips 6.0-13.4 (their slowest: two-word phrases, drawn out)."""
SAYING_ALLOWANCE = 1.0
"""Seconds an utterance holds beyond its words: the listener's pre-roll and the pause's start."""
LEADS = 2
"""Weighing scores only the wordings whose first token is among the engine's this many likeliest
first tokens of them all. On section 3's corpus, scoring every wording recognized 0.3 points more
at most in any condition, for several times the decoding."""
NEAR_TALK: dict[str, tuple[str, ...]] = {
    "note": ("take another", "take a nap", "take a look", "take a break", "take a photo",
             "no", "not", "now", "nope", "know that"),
    "time_left": tuple(f"how much {thing} is left" for thing in (
        "paint", "soil", "water", "seed", "glue", "tape", "wood", "mulch", "compost", "room",
        "light", "tea")) + ("how much time did it take",),
    "pause": ("because", "pours", "post", "pause and look", "pause the music"),
    "resume": ("reviews", "presume", "assume"),
    "repeat": ("repeat the pattern", "repeat the colour", "repeat the row"),
    "cancel": ("cancel the order", "council that"),
    "start_debrief": ("start the edging", "start the brief"),
    "stop": ("stop the dripping", "stop the hose", "in this season", "and the lesson"),
}
"""Talk that sounds like each command (by its label): its words with one swapped for another
that sounds alike ("take another", "how much paint is left"), or its first words going on into
talk ("repeat the pattern"), and everyday words near a one-word phrase ("no" for "note"). A
phrase about to be taken is scored against these (``near_talk``): the engine, asked which was
said, tells talk that a sure reading could not ("Take another" read "They can know her.").
Written from the commands and the issue's examples of talk near them; added time is not here
(``sound_extend`` and ``_spelled`` guard it), nor anything a couple might say *to* Duet meaning
the command ("pause for a second", "what's the time now")."""


@dataclass(frozen=True)
class SpotterSettings:
    """Thresholds, chosen on the benchmark corpus (scripts/bench_speech.py, section 3)."""

    accept: float = 0.35
    """Largest phoneme distance between the biased transcript and its phrase."""
    accept_one_word: float = 0.2
    """The same for one-word phrases ("note", "pause"): no other word confirms them ("no")."""
    agree: float = 0.5
    """Largest distance from the unbiased transcript to a phrase of the same command."""
    margin: float = 0.1
    """The nearest phrase of another command must be at least this much farther away."""
    worst_word: float = 0.6
    """Largest distance of any one phrase word to what was heard in its place (soundalike.py)."""
    agree_word: float = 0.7
    """The same for the unbiased reading (it is noisier: no prompt helps it spell)."""
    max_seconds: float = 3.5
    """Utterances longer than this (pre-roll and tail included) are talk, never decoded; longer
    when the longest phrase takes longer to say slowly (``SLOW_PACE``): a configured phrase
    such as "eight of spades four of clubs seven of hearts" (3.0 s said) must not be gated."""
    min_seconds: float = 0.25
    """Shorter bursts are not speech worth decoding."""
    rescore: int = 0
    """When the reading is not taken as a phrase, the engine scores this many phrases nearest
    to it (by sound) as what was said (``Hearing.score``): 0 for none (Whisper)."""
    rescore_within: float = 0.6
    """Only phrases this near the reading (phoneme distance) are scored."""
    forced: float = -0.5
    """Least mean log-probability per token at which a scored phrase is accepted."""
    forced_margin: float = 1.0
    """... and by how much it must beat every scored phrase of another meaning."""
    weigh: float | None = None
    """When rescoring took nothing, every command is scored as what was said (``weigh``: each
    phrase, added time with ``PROBE_MINUTES``), and the best is taken at this mean
    log-probability per token or better; None: not done (Whisper)."""
    weigh_margin: float = 0.5
    """... when it beats every other meaning's best by this much."""
    weigh_doubtful: float | None = None
    """A lower floor for weighing, for a phrase of several words whose reading is not much
    longer than it (``DOUBTFUL_LENGTH``) and does not say part of it word for word and the
    rest clearly otherwise (``_doubtful_ok``); None: ``weigh`` for every phrase."""
    weigh_relative: float | None = None
    """Below ``weigh_doubtful``, down to ``weigh_relative_floor``, a phrase weighed first is taken
    with the doubtful band's guards when it scores at most this much below the engine's own
    reading (its mean log-probability per token, as the reader's no-speech figure gives it):
    the engine finds the phrase nearly as likely as what it wrote itself ("Kansalmat" for
    "cancel that"), where talk it read with ease stays far apart ("Oh my dear", read at -0.9,
    weighed "what's the time left" at -3.4). None: not done."""
    weigh_relative_floor: float = -3.0
    """The lowest score ``weigh_relative`` may take."""
    weigh_expected: float | None = None
    """A still lower floor for a command the session is waiting for now (``expected``: "resume"
    while paused), with the doubtful band's guards (``_doubtful_ok``); None: ``weigh_doubtful``."""
    sound_extend: float | None = None
    """Added time taken by sound (``judge``: the reading near an added-time phrase, not exactly
    it) is kept only when the engine, scoring it against the audio with the minutes that sound
    like it and the minutes said most (``PROBE_MINUTES``), gives its minutes this mean
    log-probability per token or better and no other minutes more (``_extend_scored``); None:
    taken as matched (Whisper)."""
    sound_relative: float | None = None
    """A phrase matched by sound (``judge``: near the reading, not exactly it; added time has
    ``sound_extend``) to a reading the engine was sure of (``sound_sure``) is kept only when the
    engine, scoring the phrase against the audio, gives it at most this much less per token than
    that reading (``_sound_scored``); None: taken as matched."""
    sound_sure: float = -0.4
    """A reading at this mean log-probability per token or better is one the engine was sure of."""
    expected: tuple[str, ...] = ()
    """Commands (labels) the session is waiting for now ("resume" while paused, "cancel" just
    after a change it can put back): one of them weighed in the doubtful band, or down to
    ``weigh_expected``, is taken, even as one word (``_doubtful_ok``)."""
    slower: tuple[float, ...] = ()
    """When nothing was taken, the utterance is heard again played slower, at each of these
    speeds in turn until one hearing is taken (0.8: at 80 % of its speed, resampled)."""
    shifted: tuple[float, ...] = ()
    """Then heard again from each of these many seconds later (the first moments of room sound
    left out): Moonshine's reading of a voice it finds hard turns on where its 20 ms frames
    fall ("No." at first, "Note." from 10 ms later). Taken only on a reading of its own
    (``_later_ok``)."""
    slower_within: float = -3.5
    """... only when weighing found some command this likely (its best score) in the first hearing."""
    denoise: bool = False
    """Steady noise is subtracted from the utterance before any hearing (denoise.py)."""
    near_talk: float | None = None
    """A phrase about to be taken is scored with the talk that sounds like its command
    (``NEAR_TALK``), and turned down when some of that talk scores better than the phrase, or
    at most this much below it (mean log-probability per token); None: not checked."""
    no_speech: float = 0.6
    """Whisper's no-speech probability above which a reading is taken as noise."""
    agree_exact: float = 0.5
    """When the biased reading is exactly a phrase of several words, the unbiased reading may
    be this far from that phrase as a whole, whatever one word of it sounds like ("cancel
    that" read unprompted as "Cancel note", "start the debrief" as "Start the big meme");
    0: no such exception. On section 3's corpus (624 clips, 67 min of talk, with
    ``MERGE_MAX``): recall +3 to +6 points per condition for 2 more false commands ("How
    much pain is left", "cancelled that thought"). Not for one-word phrases: there it only
    added "Continue with the green"."""


DEFAULT_SETTINGS = {"whisper": SpotterSettings(),
                    "moonshine": SpotterSettings(worst_word=0.7, no_speech=1.01, rescore=4,
                                                 rescore_within=0.6, forced=-0.75, forced_margin=1.0,
                                                 weigh=-1.25, weigh_margin=0.5, weigh_doubtful=-2.0,
                                                 weigh_expected=-2.5, weigh_relative=-1.5,
                                                 sound_extend=-4.0, sound_relative=-3.0,
                                                 slower=(0.8,), shifted=(0.01,), near_talk=0.0,
                                                 denoise=True)}
"""Each engine's thresholds, chosen on section 3's corpus for that engine (1,248 command clips,
60 of real people, 80 minutes of talk; Moonshine's readings replayed through the real Listener
with scripts/spot_sweep.py, swept with scripts/spot_judge.py) and checked on talk near the
commands that the corpus does not hold (scripts/spot_heldout.py). What each rule gained, what it
cost, and the values and rules measured and not taken are in docs/spotter-tuning.md."""


class _Dropped(Exception):
    """The decision's ``moot`` turned true: its verdict is not wanted (speech went on)."""


_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class Verdict:
    """What the spotter made of one utterance (for logs, ``-v`` and the benchmark)."""

    phrase: str | None
    """The phrase accepted, or None."""
    heard: str
    """The biased (prompted) transcript."""
    unbiased: str
    """The transcript without a prompt."""
    reason: str
    """Why it was accepted or rejected."""
    distance: float | None = None
    """Phoneme distance of the biased transcript to its nearest phrase."""
    seconds: float = 0.0
    """Wall time spent deciding."""
    weighed: float | None = None
    """When every command was weighed: the best one's score (mean log-probability per token)."""
    weighed_first: str | None = None
    """... and that best phrase."""
    doubtful: bool = False
    """Taken by weighing at a score only ``weigh_doubtful`` allows."""
    awaited: bool = False
    """... and only because the session awaits that command (``weigh_expected``, or one word)."""


class CommandSpotter:
    """A ``Recognizer`` for commands: an engine's readings (Moonshine's or Whisper's) matched to the phrases by sound."""

    decides_early = True
    """The listener may offer an utterance after a short pause (see ``Listener.next_command``),
    and drop that decision when speech goes on (``stream(moot=)``)."""

    def __init__(self, phrases: dict[str, str], *, threads: int = 2,
                 settings: SpotterSettings | None = None, shared: object | None = None,
                 engine: str | None = None) -> None:
        """
        Args:
            phrases: every phrase to listen for (numbers spelled out) -> the command it means
                (``command_table``); any labels will do (the benchmark's real-people set).
            threads: CPU threads for the engine.
            settings: thresholds (defaults: chosen on the benchmark for the engine).
            shared: the answer engine (a ``Recognizer``): when it is Moonshine or Whisper the
                spotter runs on it and shares its model (one model in memory, not two);
                otherwise it is not used.
            engine: ``moonshine`` or ``whisper`` when nothing is shared (default ``ENGINE``).
        """
        self.matcher = SoundAlike({normalize(p): label for p, label in phrases.items()})
        kind = getattr(shared, "name", "").split(":")[0]
        model = None
        if kind in ("moonshine", "whisper"):
            engine = kind
            model = shared if kind == "moonshine" else shared._model  # type: ignore[union-attr]
        engine = engine or ENGINE
        if engine == "moonshine":
            self._reader: _Reader = MoonshineReadings(model, threads)
        elif engine == "whisper":
            self._reader = WhisperReadings(list(self.matcher.phrases), model, threads)
        else:
            raise ValueError(f"the spotter runs on moonshine or whisper, not {engine!r}")
        self.engine = engine
        self.name = f"spotter:{self._reader.label}+phonemes"
        self.settings = settings or DEFAULT_SETTINGS[engine]
        self.last: Verdict | None = None
        self._heard: tuple[bytes, SpotterSettings, Verdict, bytes] | None = None
        """The last first hearing (``_as_it_came``): its audio, the settings, the verdict, and
        the audio as heard."""
        self._talk_near: dict[tuple[str, float], tuple[str, ...]] = {}
        """(phrase, ``worst_word`` setting) -> its lines of ``NEAR_TALK`` (``_near_talk``); the
        setting is in the key because sweeps change ``settings`` on a live spotter."""
        self._longest_said = self.matcher.longest_sound / SLOW_PACE + SAYING_ALLOWANCE
        """Seconds the longest phrase may take, said slowly (its utterance, pre-roll included)."""
        probes = {number_words(n) for n in PROBE_MINUTES}
        self._anchors = [p for p, label in self.matcher.phrases.items()
                         if label != "extend" or (" ".join(_numbers(p)) in probes
                                                  and (_numbers(p) == ("one",)) == p.endswith("minute"))]
        """What weighing scores: every phrase; added time with ``PROBE_MINUTES`` only, and in
        good grammar ("add one minute", "add five minutes", never "add five minute")."""

    @property
    def longest_utterance(self) -> float:
        """Seconds past which an utterance is talk (the length gate). The listener hears a
        command at least this long before cutting it as talk (``Listener``'s ``max_command``)."""
        return max(self.settings.max_seconds, self._longest_said)

    def expect(self, labels: tuple[str, ...]) -> None:
        """The commands the session is waiting for now (``SpotterSettings.expected``)."""
        self.settings = replace(self.settings, expected=tuple(labels))

    def warm(self) -> None:
        """Run the model once on silence so the first real command is not slow (or missed)."""
        self.decide(bytes(int(SAMPLE_RATE * 1.0) * SAMPLE_WIDTH))

    def stream(self, moot: Callable[[], bool] | None = None,
               more: Callable[[], bytes | None] | None = None) -> BufferedStream:
        """``moot``: asked before each decoding step; once it is true the decision stops there
        and the stream finishes empty (the listener offered the utterance early, and speech
        went on, so the verdict is not wanted). ``more``: asked before each slower or later
        hearing; once it gives the utterance with more of its pause (the listener's second
        look), that audio is heard as it came first (``_decide``)."""
        return BufferedStream(lambda pcm: self.transcribe(pcm, moot, more))

    def transcribe(self, pcm: bytes, moot: Callable[[], bool] | None = None,
                   more: Callable[[], bytes | None] | None = None) -> Transcript:
        """The accepted phrase as the transcript's text, or an empty transcript for talk."""
        verdict = self.decide(pcm, moot, more)
        if verdict.phrase is None:
            # -v: that a candidate was turned down and why (phrase names only); -vv: the words
            log.info("not a command (%.1f s): %s", len(pcm) / (SAMPLE_RATE * SAMPLE_WIDTH), verdict.reason)
            if verdict.heard or verdict.unbiased:
                log.debug("rejected words %r (unbiased %r)", verdict.heard, verdict.unbiased)
            return Transcript("", engine=self.name, heard=verdict.heard)
        log.info("command %r (%s)", verdict.phrase, verdict.reason)
        return Transcript(verdict.phrase, 1.0 - (verdict.distance or 0.0), engine=self.name,
                          heard=verdict.heard)

    def decide(self, pcm: bytes, moot: Callable[[], bool] | None = None,
               more: Callable[[], bytes | None] | None = None) -> Verdict:
        """Accept or reject one utterance (the whole decision, with its reason); ``moot`` and
        ``more``: as for ``stream``."""
        t0 = time.perf_counter()
        try:
            verdict = self._decide(pcm, moot or (lambda: False), more)
        except _Dropped:
            verdict = Verdict(None, "", "", "dropped unfinished: speech went on")
        verdict = replace(verdict, seconds=time.perf_counter() - t0)
        self.last = verdict
        return verdict

    # -- internals ---------------------------------------------------------------------------

    def _decide(self, pcm: bytes, moot: Callable[[], bool], more: Callable[[], bytes | None] | None) -> Verdict:
        gated = self._gated(pcm)
        if gated is not None:
            return gated
        verdict, pcm = self._as_it_came(pcm, moot)
        if verdict.phrase is not None or verdict.weighed is None or verdict.weighed < self.settings.slower_within:
            return verdict
        for how, audio, later in self._other_hearings(pcm):
            longer = more() if more is not None else None
            if longer is not None:  # the second look's first hearing goes first
                more = None
                ahead = self._gated(longer) or self._as_it_came(longer, moot)[0]
                if ahead.phrase is not None:
                    return replace(ahead, reason=f"looked again, with more of the pause: {ahead.reason}")
            again = self._judge_audio(audio, moot)
            if again.phrase is not None and self.matcher.phrases[again.phrase] == "extend":
                again = self._minutes_confirmed(again, verdict)
            if again.phrase is not None and again.doubtful and not self._doubtful_ok(verdict.heard, again.phrase):
                again = replace(again, phrase=None, reason=f"{again.reason}, but too doubtful for the first "
                                f"reading {verdict.heard!r}")
            if again.phrase is not None and later:
                again = self._later_ok(again, verdict)
            if again.phrase is not None:
                return replace(again, reason=f"{how}: {again.reason}")
            verdict = replace(verdict, reason=f"{verdict.reason}; {how}: {again.reason}")
        return verdict

    def _gated(self, pcm: bytes) -> Verdict | None:
        """The verdict on an utterance too long or too short to be a command, else None."""
        seconds = len(pcm) / (SAMPLE_RATE * SAMPLE_WIDTH)
        if seconds > self.longest_utterance:
            return Verdict(None, "", "", f"too long for a command ({seconds:.1f} s): talk")
        if seconds < self.settings.min_seconds:
            return Verdict(None, "", "", f"too short ({seconds:.2f} s)")
        return None

    def _as_it_came(self, pcm: bytes, moot: Callable[[], bool]) -> tuple[Verdict, bytes]:
        """The first hearing's verdict on ``pcm``, and the audio the other hearings get (noise
        subtracted). The last one is remembered: the listener's second look, heard so ahead of
        the first look's other hearings (``stream(more=)``), is not heard twice."""
        if self._heard is not None and self._heard[0] == pcm and self._heard[1] == self.settings:
            return self._heard[2], self._heard[3]
        heard = quieted_pcm(pcm) if self.settings.denoise else pcm
        verdict = self._judge_audio(heard, moot)
        self._heard = (pcm, self.settings, verdict, heard)
        return verdict, heard

    def _other_hearings(self, pcm: bytes) -> Iterator[tuple[str, bytes, bool]]:
        """The utterance as each later hearing gets it, named, and whether it is heard from later
        (``shifted``) rather than slower."""
        for speed in self.settings.slower:
            yield f"played at {speed:.0%} speed", slowed(pcm, speed), False
        for shift in self.settings.shifted:
            yield f"heard from {shift * 1000:.0f} ms later", from_later(pcm, shift), True

    @staticmethod
    def _later_ok(later: Verdict, first: Verdict) -> Verdict:
        """A command a hearing from a little later took, kept only on a reading of its own and
        without the allowance for a command the session awaits (``Verdict.awaited``).

        The same audio on other frames: read the same, its scores only drift, and a phrase just
        below a floor at first can drift above it ("Can't do that", talk, weighed the awaited
        "continue" at -2.38 from 10 ms later; section 3's corpus)."""
        if normalize(later.heard) == normalize(first.heard):
            return replace(later, phrase=None, reason=f"{later.reason}, but read as the first hearing read it")
        if later.awaited:
            return replace(later, phrase=None, reason=f"{later.reason}, but taken only because the session awaits it")
        return later

    def _minutes_confirmed(self, again: Verdict, first: Verdict) -> Verdict:
        """Added time a later hearing took, kept only when the first hearing's weighing put the
        same minutes first: slowed, "five" can come out "eight", and the audio as it was is the
        better witness of the number."""
        if first.weighed_first is not None and self._meaning(first.weighed_first) == self._meaning(again.phrase):
            return replace(again, reason=f"{again.reason}; the first hearing weighed it first")
        return replace(again, phrase=None, reason=f"{again.reason} ({again.phrase!r}), but minutes not heard at first")

    def _judge_audio(self, pcm: bytes, moot: Callable[[], bool]) -> Verdict:
        def step(decode: Callable[[_T], _R]) -> Callable[[_T], _R]:
            def checked(arg: _T) -> _R:  # each step decodes: first ask whether it is still wanted
                if moot():
                    raise _Dropped
                return decode(arg)
            return checked

        return self.judge_rescored(step(self._readings)(pcm), step(lambda near: self._phrase_scores(pcm, near)),
                                   step(lambda every: self._phrase_scores(pcm, every, LEADS)))

    def judge_rescored(self, readings: list[tuple[str, float]],
                       score: Callable[[list[str]], dict[str, float]],
                       weigh: Callable[[list[str]], dict[str, float]] | None = None) -> Verdict:
        """``judge``, then, when the reading is turned down, ``judge_scored`` on the phrases
        near it, as ``score`` scores them (the engine, or the benchmark's stored scores); then,
        when that takes nothing either, ``judge_weighed`` with every command, as ``weigh``
        scores them (it may leave out wordings the engine finds unlikely from their start).
        Whatever is taken must then score above the talk that sounds like it (``near_talk``),
        unless the engine wrote the phrase itself: it already chose each of the phrase's words
        over any other there, and scoring talk beside it (13 lines for "how much time is left")
        doubled the time to decide."""
        verdict = self._judge_rescored(readings, score, weigh)
        if verdict.phrase is None or self.settings.near_talk is None or verdict.distance == 0.0:
            return verdict
        return self._near_talk_scored(verdict, score)

    def _near_talk_scored(self, verdict: Verdict, score: Callable[[list[str]], dict[str, float]]) -> Verdict:
        """``verdict``'s phrase, kept only when the engine scores it above every line of talk
        that sounds like its command (``NEAR_TALK``), by more than ``near_talk``.

        A reading says what the engine heard first, not what it would choose between two
        wordings: "Take another" was read "They can know her." and "Take a moment", and
        weighed "take a note" at -1.87, but asked for both, the engine scores "take another"
        above "take a note" (15 of 16 hearings: 8 voices, 2 rates), and a "take a note" said
        1.7 or more below it."""
        phrase = verdict.phrase
        assert phrase is not None
        talk = self._near_talk(phrase)
        if not talk:
            return verdict
        scores = score([phrase, *talk])
        own = scores.get(phrase, -np.inf)
        line = max(talk, key=lambda t: scores.get(t, -np.inf))
        if np.isfinite(scores.get(line, -np.inf)) and scores[line] >= own - self.settings.near_talk:
            return replace(verdict, phrase=None, reason=f"{verdict.reason}, but {line!r} scored "
                           f"{scores[line]:.2f} against {own:.2f}: talk")
        return verdict

    def _near_talk(self, phrase: str) -> tuple[str, ...]:
        """The lines of ``NEAR_TALK`` for ``phrase``'s command that are that phrase with a word
        clearly replaced (``worst_word``): what sounds nearly the same ("start the brief" for
        "start the debrief") the engine cannot tell apart."""
        key = (phrase, self.settings.worst_word)
        if key not in self._talk_near:
            self._talk_near[key] = tuple(
                line for line in NEAR_TALK.get(self.matcher.phrases[phrase], ())
                if self.matcher.worst_word(line, phrase) > self.settings.worst_word)
        return self._talk_near[key]

    def _judge_rescored(self, readings: list[tuple[str, float]],
                        score: Callable[[list[str]], dict[str, float]],
                        weigh: Callable[[list[str]], dict[str, float]] | None) -> Verdict:
        s = self.settings
        verdict = self.judge(readings)
        if verdict.phrase is not None and (verdict.distance or 0.0) > 0:  # matched by sound
            if s.sound_extend is not None and self.matcher.phrases[verdict.phrase] == "extend":
                verdict = self._extend_scored(verdict, score)
            elif s.sound_relative is not None:
                verdict = self._sound_scored(verdict, readings, score)
        if verdict.phrase is not None or not readings[0][0]:
            return verdict
        scored: dict[str, float] = {}
        if s.rescore:
            near = [p for d, p in self.matcher.nearest(readings[0][0], int(s.rescore)) if d <= s.rescore_within]
            if near:
                scored = score(near)
                verdict = self.judge_scored(readings, scored, verdict)
        if verdict.phrase is None and s.weigh is not None and weigh is not None:
            verdict = self.judge_weighed(readings, weigh, verdict, scored)
        return verdict

    def _extend_scored(self, verdict: Verdict, score: Callable[[list[str]], dict[str, float]]) -> Verdict:
        """Added time matched by sound, kept only when the engine agrees (``sound_extend``).

        A near reading of added time is the costliest mistake talk can make (the work phase
        grows), and the reading alone cannot tell: "Add more water" read "And one wallet" is as
        near "add one minute" (0.31) as "Have one visit", said as a command at 10 dB. Scored
        against the audio, the talk gave "add one minute" -4.93 per token, the commands -0.3 to
        -3.5. And a number misheard ("Have 9 minutes" for "add five minutes" at 5 dB) shows as
        other minutes scoring better (five -2.22, nine -2.36): then nothing is taken. The
        minutes scored are those that sound like the phrase's and, in the same wording, the
        ones said most (``PROBE_MINUTES``): "And 8 minutes." was said as "add five minutes",
        and "five" sounds nothing like "eight" (five -2.29, eight -2.48)."""
        phrase = verdict.phrase
        probes = [p for p in self._anchors if self.matcher.phrases[p] == "extend" and _wording(p) == _wording(phrase)]
        scores = score(list(dict.fromkeys([phrase, *self._minutes_near(phrase), *probes])))
        meaning = self._meaning(phrase)
        own = max((v for p, v in scores.items() if self._meaning(p) == meaning), default=-np.inf)
        rivals = {p: v for p, v in scores.items() if self._meaning(p) != meaning}
        rival = max(rivals, key=rivals.__getitem__, default=None)
        if own < self.settings.sound_extend:
            return replace(verdict, phrase=None, reason=f"{verdict.reason}, but the engine scored it only {own:.2f}")
        if rival is not None and rivals[rival] > own:
            return replace(verdict, phrase=None, reason=f"{verdict.reason}, but {rival!r} scored better "
                           f"({rivals[rival]:.2f} over {own:.2f}): the minutes are in doubt")
        return replace(verdict, reason=f"{verdict.reason}; scored {own:.2f}")

    def _sound_scored(self, verdict: Verdict, readings: list[tuple[str, float]],
                      score: Callable[[list[str]], dict[str, float]]) -> Verdict:
        """A phrase matched by sound to a reading the engine was sure of, kept only when the
        engine finds the phrase nearly as likely as what it read (``sound_relative``).

        The match is by sound alone, and a sentence can sound like a phrase: "Repeat the
        pattern." is 0.33 from "repeat that". But the engine read it at -0.03 to -0.35 per
        token, and scored "repeat that" 2.6 to 5.2 below that (21 hearings: 7 voices, clean to
        10 dB). Of the commands on section 3's corpus matched by sound to a reading that sure
        (98), none scored more than 2.7 below it. An unsure reading says little about what was
        said, so the phrase's score is no evidence against it: those are not checked (commands
        read unsurely scored down to 3.4 below).

        A one-word phrase is not taken at all for a sure reading that is not it: that is another
        word ("Notes." for "note"). On section 3's corpus no command was taken so; the one
        one-word command matched by sound was read unsurely ("Rehume" for "resume")."""
        own = _reading_score(readings)
        if own < self.settings.sound_sure:
            return verdict
        if len(verdict.phrase.split()) == 1:
            return replace(verdict, phrase=None, reason=f"{verdict.reason}, but the engine was sure of "
                           f"its reading ({own:.2f}): another word")
        said = score([verdict.phrase])[verdict.phrase]
        if said - own < self.settings.sound_relative:
            return replace(verdict, phrase=None, reason=f"{verdict.reason}, but the engine scored it {said:.2f}, "
                           f"{own - said:.2f} below its reading: talk")
        return replace(verdict, reason=f"{verdict.reason}; scored {said:.2f} (own {own:.2f})")

    def _minutes_near(self, phrase: str) -> list[str]:
        """The added-time phrases that sound nearest ``phrase`` (``MINUTES_NEAR``; itself among
        them): the minutes it could have been misheard for."""
        return [p for _, p in self.matcher.nearest(phrase, MINUTES_NEAR + 1) if self.matcher.phrases[p] == "extend"]

    def judge_weighed(self, readings: list[tuple[str, float]],
                      weigh: Callable[[list[str]], dict[str, float]], first: Verdict,
                      scored: dict[str, float] | None = None) -> Verdict:
        """Every command scored as what was said: taken when one meaning scores ``weigh`` or
        better and ``weigh_margin`` clear of all others.

        The reading alone can be far from the phrase by sound ("Kendall met." for "cancel
        that", "And I've made it." for "add five minutes": espeak-ng's voices, noise), yet
        the engine, asked how likely each phrase is, still puts the one said well ahead
        (-1 to -2.5 per token) and talk far behind every phrase (-3.5 or worse). Added time is
        scored with a few minutes first; when it wins, the minutes that sound like the
        winner's are scored too, so that "fifteen" is not taken for "five" unheard.
        ``scored``: what rescoring gave the phrases near the reading, counted too: weighing
        prunes wordings by their first token (``LEADS``) and lost "resume the session",
        rescored at -1.5, for "Video possession"."""
        s = self.settings
        scores = dict(weigh(self._anchors))
        for phrase, score in (scored or {}).items():
            scores[phrase] = max(score, scores.get(phrase, -np.inf))
        best = max(scores, key=scores.__getitem__, default=None)
        if best is not None and self.matcher.phrases[best] == "extend":
            near = [p for p in self._minutes_near(best) if p not in scores]
            scores |= weigh(near) if near else {}
        first_place = max(scores, key=scores.__getitem__, default=None)
        floor = s.weigh if s.weigh_doubtful is None else min(s.weigh, s.weigh_doubtful)
        if first_place is not None and self._near_own_reading(readings, scores[first_place]):
            floor = min(floor, s.weigh_relative_floor)
        awaited_floor = floor
        if first_place is not None and s.weigh_expected is not None \
                and self.matcher.phrases[first_place] in s.expected:
            awaited_floor = min(floor, s.weigh_expected)
        verdict = self._scored(readings, scores, first, awaited_floor, s.weigh_margin, "weighed")
        verdict = replace(verdict, weighed=scores.get(first_place), weighed_first=first_place)
        if verdict.phrase is not None and scores[verdict.phrase] < s.weigh:
            if not self._doubtful_ok(verdict.heard, verdict.phrase):
                return replace(verdict, phrase=None, reason=f"{first.reason}; weighed {verdict.phrase!r} at "
                               f"{scores[verdict.phrase]:.2f}, too doubtful for this reading")
            # below the floor, or one word (``_doubtful_ok``): only an awaited command gets there
            awaited = scores[verdict.phrase] < floor or len(verdict.phrase.split()) == 1
            verdict = replace(verdict, doubtful=True, awaited=awaited)
        if verdict.phrase is not None and self._a_word_replaced(verdict.heard, verdict.phrase):
            return replace(verdict, phrase=None, reason=f"{first.reason}; weighed {verdict.phrase!r}, "
                           "but the reading is that phrase with a word clearly replaced: talk")
        return verdict

    def _near_own_reading(self, readings: list[tuple[str, float]], score: float) -> bool:
        """Whether ``score`` is within ``weigh_relative`` of the engine's own reading's score
        (``_reading_score``), and no lower than ``weigh_relative_floor``.

        A likelihood ratio: a command the engine misheard it read unsurely, and the phrase said
        scores not far below that reading; talk it read with ease scores every phrase far below.
        On section 3's corpus (Moonshine's readings of 1,248 clips and 66.8 min of talk), the
        talk that weighs a command between -3.0 and -2.0 and passes the doubtful band's guards
        scored it 2.3 or more below its reading; the commands missed there, 1.0 to 3.5 below."""
        s = self.settings
        if s.weigh_relative is None or score < s.weigh_relative_floor:
            return False
        own = _reading_score(readings)
        return score - own >= s.weigh_relative

    def _doubtful_ok(self, heard: str, phrase: str) -> bool:
        """Whether a phrase weighed only above ``weigh_doubtful`` may be taken for ``heard``.

        Not a one-word phrase (nothing else confirms it: "Nope" weighed "note" at -1.8); not
        added time (talk of time is full of minutes: "That took ten minutes." weighed "add ten
        minutes" at -1.94, and a wrong number is a wrong command); not a reading much longer
        than the phrase; and not a reading that says some of the phrase's words as written
        while another clearly is not there: that is talk about the same thing ("How much pain
        did it have?" weighed "how much time is left" at -1.34). A command misheard whole
        ("Kendall Knight." for "cancel that") passes."""
        words = phrase.split()
        label = self.matcher.phrases[phrase]
        if (len(words) == 1 and label not in self.settings.expected) or label == "extend":
            return False
        heard_sound, phrase_sound = (len(p.replace(" ", "")) for p in phonemes([heard, phrase]))
        if heard_sound > DOUBTFUL_LENGTH * phrase_sound:
            return False
        return not self._replaced_beside(heard, phrase, 1)

    def _a_word_replaced(self, heard: str, phrase: str) -> bool:
        """Most of the phrase's words were heard as written and one clearly was not ("How
        much pain is left?" for "how much time is left"): talk about the same thing. The engine
        alone cannot tell: the one word replaced costs only its own tokens, and the phrase still
        scores like a command misheard. A short phrase is exempt ("Cancel hair" is "cancel
        that" in noise)."""
        return self._replaced_beside(heard, phrase, len(phrase.split()) // 2 + 1)

    def _replaced_beside(self, heard: str, phrase: str, least: int) -> bool:
        """At least ``least`` of the phrase's words were heard as written, and one of its words
        clearly was not there (``worst_word``)."""
        said = set(_spelled(normalize(heard)).split())
        if sum(w in said for w in phrase.split()) < least:
            return False
        return self.matcher.worst_word(heard, phrase) > self.settings.worst_word

    def judge_scored(self, readings: list[tuple[str, float]], scores: dict[str, float],
                     first: Verdict) -> Verdict:
        """The decision once the phrases near a rejected reading were scored as what was said
        (``scores``: phrase -> mean log-probability per token); ``first`` is the rejection.

        Pure, like ``judge``. The engine itself weighs each wording against the audio, so a
        near miss in the reading ("Start the degree") counts when the phrase scores well, and
        talk that only sounds like a phrase ("How much paint is left") does not: the word not
        said ("time") scores badly."""
        return self._scored(readings, scores, first, self.settings.forced, self.settings.forced_margin)

    def _scored(self, readings: list[tuple[str, float]], scores: dict[str, float], first: Verdict,
                floor: float, margin: float, how: str = "scored") -> Verdict:
        """The best-scored phrase, when it scores ``floor`` or better and beats every phrase of
        another meaning by ``margin``; otherwise ``first`` with the reason (``how``: the step)."""
        heard = readings[0][0]
        if not scores:
            return first
        best = max(scores, key=scores.__getitem__)
        rivals = [v for p, v in scores.items() if self._meaning(p) != self._meaning(best)]
        gap = scores[best] - max(rivals, default=-np.inf)
        if scores[best] < floor:
            return Verdict(None, heard, readings[1][0], f"{first.reason}; {how}, {best!r} at most "
                           f"({scores[best]:.2f})", first.distance)
        if gap < margin:
            return Verdict(None, heard, readings[1][0], f"{first.reason}; {how}, {best!r} "
                           f"({scores[best]:.2f}) not clear of another ({gap:.2f})", first.distance)
        return Verdict(best, heard, readings[1][0], f"read {heard!r}, {how} {best!r} at "
                       f"{scores[best]:.2f} (next other {gap:.2f} lower)", self.matcher.distance(heard, best))

    def _meaning(self, phrase: str) -> tuple[str, tuple[str, ...]]:
        """What a phrase asks for: its command, and the minutes of an added-time phrase."""
        return self.matcher.phrases[phrase], _numbers(phrase)

    def _phrase_scores(self, pcm: bytes, phrases: list[str], leads: int = 0) -> dict[str, float]:
        """Each phrase's score (its best spoken form's) as what the utterance just read said.
        (``pcm`` keys the benchmark's stored scores.) ``leads``: only the forms whose first token is among the engine's ``leads`` likeliest
        first tokens of all the forms are scored (the first step is already decoded: free)."""
        forms = {p: [written(p)] if leads else spoken_forms(p) for p in phrases}
        flat = list(dict.fromkeys(f for fs in forms.values() for f in fs))
        if leads:
            first = dict(zip(flat, self._reader.leading(flat)))
            cut = sorted(set(first.values()), reverse=True)[:leads][-1]
            flat = [f for f in flat if first[f] >= cut]
        scores = dict(zip(flat, self._reader.score(flat)))
        return {p: max(scores[f] for f in fs if f in scores) for p, fs in forms.items()
                if any(f in scores for f in fs)}

    def judge(self, readings: list[tuple[str, float]]) -> Verdict:
        """The decision from the two readings ``[(biased, no_speech), (unbiased, no_speech)]``.

        Pure given the phrase list and settings, so thresholds can be swept on stored readings.
        """
        s = self.settings
        (biased, b_noise), (plain, p_noise) = readings
        if b_noise >= s.no_speech and p_noise >= s.no_speech:
            return Verdict(None, biased, plain, f"no speech (p={b_noise:.2f})")
        if normalize(biased) in self.matcher.phrases and normalize(biased) == normalize(plain):
            return Verdict(normalize(biased), biased, plain, "exact phrase, both readings", 0.0)
        match = self.matcher.match(biased)
        if match is None:
            return Verdict(None, biased, plain, "no words")
        one_word = len(match.phrase.split()) == 1
        if match.distance > (s.accept_one_word if one_word else s.accept):
            return Verdict(None, biased, plain, f"nearest phrase {match.phrase!r} at {match.distance:.2f}",
                           match.distance)
        if match.worst_word > s.worst_word:
            return Verdict(None, biased, plain, f"{match.phrase!r} at {match.distance:.2f}, but a word of it "
                           f"was not heard (word distance {match.worst_word:.2f})", match.distance)
        if match.runner_up - match.distance < s.margin:
            return Verdict(None, biased, plain,
                           f"ambiguous: {match.phrase!r} at {match.distance:.2f}, another command at "
                           f"{match.runner_up:.2f}", match.distance)
        second = self.matcher.match(plain)
        intent = self.matcher.phrases[match.phrase]
        if match.distance == 0.0 and not one_word and s.agree_exact > 0 \
                and self._close_as_a_whole(match.phrase, plain, second):
            return Verdict(match.phrase, biased, plain, "exact phrase; the unbiased reading is close "
                           "as a whole", 0.0)
        if second is None or self.matcher.phrases[second.phrase] != intent or second.distance > s.agree \
                or second.worst_word > s.agree_word:
            said = f"{second.phrase!r} at {second.distance:.2f}" if second else "nothing"
            return Verdict(None, biased, plain,
                           f"unbiased reading disagrees ({said}): prompt-induced?", match.distance)
        if intent == "extend" and _numbers(match.phrase) != _numbers(second.phrase):
            return Verdict(None, biased, plain, "minutes not confirmed by the unbiased reading",
                           match.distance)
        if intent == "extend" and not _numbers(_spelled(normalize(biased))):
            return Verdict(None, biased, plain, f"{match.phrase!r} at {match.distance:.2f}, but no "
                           "minutes were heard", match.distance)
        return Verdict(match.phrase, biased, plain, f"matched at {match.distance:.2f}", match.distance)

    def _close_as_a_whole(self, phrase: str, plain: str, second: Match | None) -> bool:
        """The unbiased reading sounds like ``phrase`` as a whole (``agree_exact``), and the minutes
        of an added-time phrase are in it."""
        if second is None:
            return False
        if self.matcher.distance(plain, phrase) > self.settings.agree_exact:
            return False
        if self.matcher.phrases[phrase] == "extend" and _numbers(phrase) != _numbers(second.phrase):
            return False
        return True

    def _readings(self, pcm: bytes) -> list[tuple[str, float]]:
        """[(biased, no-speech probability), (unbiased, no-speech probability)] of one utterance."""
        return self._reader(pcm)


class _Reader(Protocol):
    label: str
    """Engine and model, for the spotter's name."""

    def __call__(self, pcm: bytes) -> list[tuple[str, float]]:
        """The two readings ``CommandSpotter.judge`` takes."""

    def score(self, texts: list[str]) -> list[float]:
        """How well each text fits the utterance read last (mean log-probability per token)."""

    def leading(self, texts: list[str]) -> list[float]:
        """The log-probability of each text's first token on the utterance read last (free)."""


class WhisperReadings:
    """Whisper tiny.en read twice from one encoding: with the phrases as the prompt and without."""

    label = "whisper-tiny.en"

    def __init__(self, phrases: list[str], model=None, threads: int = 2) -> None:  # noqa: ANN001
        self._model = model if model is not None else _load_whisper(threads)
        from faster_whisper.tokenizer import Tokenizer

        self._tokenizer = Tokenizer(self._model.hf_tokenizer, False, task="transcribe", language="en")
        base = [p for p in phrases if "minute" not in p] + ["add five minutes", "add ten minutes"]
        prompt_text = PROMPT_JOIN.join(dict.fromkeys(p.capitalize() for p in base)) + "."
        self._prompts = [
            self._model.get_prompt(self._tokenizer, [], hotwords=prompt_text),
            self._model.get_prompt(self._tokenizer, []),
        ]
        self._lock = threading.Lock()

    def __call__(self, pcm: bytes) -> list[tuple[str, float]]:
        audio = pcm_to_float(pcm)
        audio = np.concatenate([np.zeros(SAMPLE_RATE // 4, np.float32), audio])
        with self._lock:
            model = self._model
            features = model.feature_extractor(audio)[:, : model.feature_extractor.nb_max_frames]
            # encode at least PAD_SECONDS (not Whisper's 30 s): 4x less work, about the same
            # recall on the benchmark; much shorter and the decoder loops ("pause pause pause")
            short = PAD_SECONDS * 100 - features.shape[1]
            if short > 0:
                features = np.pad(features, ((0, 0), (0, short)))
            encoded = model.encode(np.ascontiguousarray(features))
            # Whisper needs the start token at one position across a batch: decode one by one
            results = [model.model.generate(
                encoded, [prompt], beam_size=1, max_length=len(prompt) + MAX_TOKENS,
                no_repeat_ngram_size=3,  # no phrase repeats three words; a decoding loop does
                return_no_speech_prob=True, suppress_blank=True, suppress_tokens=[-1])[0]
                for prompt in self._prompts]
        # one encoder output, two prompts: both readings come from the same audio
        return [(_first(_once(self._tokenizer.decode(r.sequences_ids[0]))), float(r.no_speech_prob))
                for r in results]

    def score(self, texts: list[str]) -> list[float]:
        """Not offered: the two readings already guard Whisper's prompt (``rescore`` is 0)."""
        return [-np.inf] * len(texts)

    def leading(self, texts: list[str]) -> list[float]:
        return [0.0] * len(texts)


class MoonshineReadings:
    """Moonshine base's one reading, given as both: it takes no prompt, so there is no biased
    reading to guard against, and its reading is judged alone (the same text twice makes
    ``judge`` a single-reading test). Its no-speech figure is 1 - its mean token probability.

    The whole reading is judged, not its first clause: unprompted, Moonshine does not list
    variants, and "Pause, the ladder!" must stay talk."""

    label = "moonshine-base-en"

    def __init__(self, recognizer=None, threads: int = 2) -> None:  # noqa: ANN001
        if recognizer is None:
            from assistant.speech.asr_moonshine import MoonshineRecognizer

            recognizer = MoonshineRecognizer(threads=threads)
        self._recognizer = recognizer
        self._last = None
        self._scored: dict[str, float] = {}
        """The utterance read last: each wording's score, once asked for."""

    def __call__(self, pcm: bytes) -> list[tuple[str, float]]:
        self._last = self._recognizer.hear(pcm, words_expected=True)
        self._scored = {}
        heard = self._last.transcript
        reading = (_once(heard.text), 1.0 - (heard.confidence or 0.0))
        return [reading, reading]

    def score(self, texts: list[str]) -> list[float]:
        """Each text scored once per utterance: weighing asks again for phrases rescoring scored."""
        if self._last is None:
            return [-np.inf] * len(texts)
        new = [t for t in dict.fromkeys(texts) if t not in self._scored]
        if new:
            self._scored.update(zip(new, self._last.score(new)))
        return [self._scored[t] for t in texts]

    def leading(self, texts: list[str]) -> list[float]:
        return self._last.leading(texts) if self._last is not None else [0.0] * len(texts)


def command_table(parser: CommandParser, phrases: list[str]) -> dict[str, str]:
    """Phrase -> command name for the configured phrases (e.g. ``work_grammar()``)."""
    table = {}
    for phrase in phrases:
        command = parser.parse(phrase)
        if command is not None:
            table[phrase] = command.intent.value
    return table


def _once(text: str) -> str:
    """The text with a decoding loop collapsed to its first round.

    On a short command Whisper sometimes repeats itself to its length limit ("Pause, Pause,
    Pause, P", "repeat net repeat net repeat"): a text that is one unit of words said
    over and over (the last round may be cut off, even mid-word) becomes that unit once.
    """
    words = normalize(text).split()
    for size in range(1, len(words) // 2 + 1):
        unit = words[:size]
        rounds = [w == unit[i % size] for i, w in enumerate(words[:-1])]
        last = words[-1]
        if all(rounds) and unit[(len(words) - 1) % size].startswith(last):
            return " ".join(unit)
    return text.strip()


def _spelled(text: str) -> str:
    """Numbers in digits spelled as the phrases spell them ("that's 10 minutes" -> "that's ten
    minutes"): Moonshine writes minutes in digits, and "That's 10 minutes." (talk) said only one
    word of "add ten minutes" as written, so it was not seen as that phrase with a word replaced."""
    return " ".join(number_words(int(w)) if w.isdigit() and int(w) <= MAX_EXTEND else w for w in text.split())


def spoken_forms(phrase: str) -> list[str]:
    """How an engine may write ``phrase``: a capital first, and numbers of two words either
    apart or hyphened ("forty five", "forty-five"), as Moonshine writes them."""
    text = phrase[:1].upper() + phrase[1:]
    hyphened = re.sub(rf"\b({'|'.join(TENS)}) ({'|'.join(NUMBER_WORDS)})\b", r"\1-\2", text)
    return [text] if hyphened == text else [text, hyphened]


def written(phrase: str) -> str:
    """How Moonshine most often writes ``phrase``: a capital first, minutes in digits ("Add 5
    minutes"; in digits it scored better than in words on section 3's corpus)."""
    text = phrase[:1].upper() + phrase[1:]
    if "minute" in phrase and (numbers := _numbers(phrase)):
        spelled = " ".join(numbers)
        return text.replace(spelled, str(parse_number(spelled)), 1)
    return text


def slowed(pcm: bytes, speed: float) -> bytes:
    """16 kHz int16 ``pcm`` played at ``speed`` (below 1: slower and lower), by linear resampling.

    Not soxr, as elsewhere in Duet: its filtered resampling, replayed on section 3's whole corpus
    (noise subtracted first), gained 0.3-1.3 points of recall but took "How much pain did he
    have?" for "how much time is left" twice in 66.8 min of talk (1.8 an hour; target 1)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    n = int(len(samples) / speed)
    return np.interp(np.arange(n) * speed, np.arange(len(samples)), samples).round().astype("<i2").tobytes()


def _reading_score(readings: list[tuple[str, float]]) -> float:
    """The engine's own reading's mean log-probability per token: Moonshine's no-speech figure
    is 1 minus its geometric mean token probability."""
    return math.log(max(1.0 - readings[0][1], 1e-9))


def _wording(phrase: str) -> tuple[str, ...]:
    """A phrase's words but its minutes ("add {n} minute(s)" -> ("add", "minute")): added-time
    phrases with the same wording differ only in how many minutes."""
    return tuple("minute" if w == "minutes" else w for w in phrase.split() if w not in NUMBER_WORDS and w not in TENS)


def _numbers(phrase: str) -> tuple[str, ...]:
    """The number words of a phrase: both readings must agree on how many minutes."""
    return tuple(w for w in phrase.split() if w in NUMBER_WORDS or w in TENS)


def _first(text: str) -> str:
    """The first clause of a reading. Prompted with a list of phrases, Whisper tends to go on
    listing variants of what it heard ("Start the debrief, Start the big brief, Start that
    debrief"); what was said is the first. Talk keeps its first clause, which must still be a
    whole phrase on its own, and the unprompted reading must agree."""
    clauses = [c.strip() for c in re.split(r"[,.?!;]+", text) if c.strip()]
    return clauses[0] if clauses else ""


def _load_whisper(threads: int):
    from assistant.speech.asr_whisper import WhisperRecognizer

    return WhisperRecognizer(threads=threads)._model
