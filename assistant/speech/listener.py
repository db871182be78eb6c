"""Listening: microphone frames, cut into utterances by the endpointer, fed to a recognizer.

Two ways to listen, because answers and commands differ:

* ``capture_answer``: a partner answers a question. Wait for speech to begin, stream the
  utterance into the free-form (answer) recognizer with partial results for live display, and end
  it when the turn is over (turns.py): on a short pause (``trailing_silence``) after an answer
  that sounds finished, on a long one (``max_pause``) after one that does not, or at
  ``max_answer``.
* ``next_command``: between questions Duet only listens for a few phrases. The command
  engine is fed nothing but speech (each utterance with its pre-roll), so an hour of silence
  costs the endpointer's few microseconds per frame and no recognition at all; a short pause
  (``command_silence``) ends a command so Duet reacts quickly. An engine that ``decides_early``
  (the spotter) is offered the utterance already after ``quick_silence``: a whole phrase is
  acted on then, anything else waits for the full pause (and is not decoded again if nothing
  more was said). Its decoding starts ``SPECULATE_AFTER`` into the pause, so it is mostly done
  by then; when it finds no command, the utterance is decided once more with the pause heard
  so far (a second look: the spotter's verdict on a misheard command turns on how much of its
  last sound is in the audio, and either look may hear it). The second look's audio is offered
  to the first decision as soon as the pause reaches ``quick_silence``: the spotter hears it
  before its own slower hearings (``_Decision.look_again``). When speech resumes first, that
  decision is dropped: the engine stops at its next decoding step (on section 3's talk, 10 %
  less CPU than deciding every pause to the end). Its endpointer lives on from one call to the
  next while the audio runs on (``CONTINUOUS_GAP``): the call returns at the engine's deadline
  (a tick every minute), and a command begun in that instant keeps its onset and pre-roll.

A fresh recognizer stream is opened per utterance (asr.py: long-lived streams grow in memory).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterator, Protocol

from assistant.config import ListeningConfig
from assistant.speech.asr import (
    SAMPLE_RATE,
    SAMPLE_WIDTH,
    RecognitionStream,
    Recognizer,
    Transcript,
)
from assistant.speech.mic import Frame
from assistant.speech.turns import TurnPolicy, only_fillers
from assistant.speech.vad import (
    Endpointer,
    Event,
    SpeechChunk,
    SpeechEnded,
    SpeechStarted,
    surely_speech,
)
from assistant.speech.wav import from_later

log = logging.getLogger(__name__)

ANSWER_TAIL = 0.3
"""Seconds of each pause kept with an answer's stretch, so the recognizer hears the last word
end."""

CONTINUOUS_GAP = 0.25
"""Seconds of audio missing between two frames (by their capture times) that break the stream:
Duet spoke (the microphone is muted for its voice and ``mute_tail``, 0.3 s, after it) or the
microphone was reopened. The command endpointer kept between ``next_command`` calls forgets what
it heard then: a pre-roll must not join audio from before the break to a command."""

TALKED_OVER_ONSET = 0.06
"""An answer whose voice is there from the first 0.06 s of listening began before Duet had
finished asking: the microphone was muted for the question, so only the end of the answer can
be heard (``Listener.talked_over``). Measured with the answer endpointer on LibriVox and four
espeak-ng voices: listening started at 105 random points inside speech found the voice by then
in 90 (the rest fell in a pause between words); speech that began 0.1 s or more after
listening started never did (onset 0.09 s at the least)."""

_POLL = 0.25
"""Longest single wait on the microphone, so deadlines are checked a few times a second."""

SPECULATE_AFTER = 0.05
"""With an engine that ``decides_early``: seconds of a pause after which the utterance so far
starts being decided in the background (the verdict is taken at ``quick_silence``). Measured
against 0.1 s on every third of section 3's command clips (416): alone it recognized 7 fewer
(23 verdicts flipped, either way, with 0.05 s less audio); with the second look (module
docstring) 2-5 points more in every condition (clean 77 -> 79 %, 20 dB 65 -> 69, 10 dB 47 ->
53, 5 dB 37 -> 41), no wrong command, none on the 67 minutes of talk; decided 275-282 -> 223-238
ms median after the command's end (one at a time, two runs each)."""


REREAD_SHIFT = 0.01
"""Seconds of an answer's start (pre-roll: room sound) left out when it is heard once more
because the recognizer was unsure of its words (``judged``). Moonshine's reading of a voice it
finds hard turns on where its frames fall: en-us+f4's "We want to finish the blue sky today", fed
0-25 ms later in 5 ms steps, was read as finished at three offsets and made Duet wait at three:
once read unsurely ("We wanted a finish of Luskite update.", confidence 0.44), twice for its
last word's other readings ("... to be made"); live, it waited ``max_pause`` on such readings in
bench section 8 (stops 46 and 47). With scripts/turn_sweep.py's answers (507),
each stretch also read 10 ms later, the later reading taken when it ends the turn: finished
answers not kept waiting 100 -> 101 of 106, short answers 105 -> 112 of 189; paused answers kept
whole (36 of 46; held-out voices 30 of 36) and halves waited on (67 of 94) unchanged. Taken for
any wait, not only an unsure one, it cut 3 paused and 3 held-out answers."""


UNJUDGED_END_PAUSE = 1.2
"""Silence that ends an answer when the answer engine's text is too rough to judge the turn by
(a recognizer with ``text_judges_turns = False``: pocketsphinx free-form, about 27 % word error)."""


class FrameSource(Protocol):
    """Where audio comes from: a ``Microphone``, or anything that reads like one."""

    def read(self, timeout: float) -> Frame | None:
        """The next 16 kHz mono int16 frame, or None if none came within ``timeout`` s."""


class Listener:
    """Turns what the microphone hears into transcripts of answers and commands."""

    def __init__(
        self,
        mic: FrameSource,
        answer_recognizer: Recognizer,
        command_recognizer: Recognizer,
        *,
        trailing_silence: float = 1.2,
        command_silence: float = 0.5,
        max_answer: float = 60.0,
        max_command: float = 5.0,
        max_pause: float = 3.5,
        quick_silence: float = 0.25,
        command_vad: str = "silero",
        vad_aggressiveness: int = 2,
        clock: Callable[[], float] = time.monotonic,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        """
        Args:
            mic: an open ``Microphone`` (or another ``FrameSource``).
            answer_recognizer: free-form engine for answers.
            command_recognizer: grammar engine for command phrases.
            trailing_silence: pause (s) that ends an answer that sounds finished.
            max_pause: pause (s) that ends any answer (one that sounds unfinished is waited on
                this long: turns.py).
            command_silence: pause (s) that ends a command.
            max_answer: longest answer (s); a longer one is cut and returned.
            max_command: longest command utterance (s); longer speech is not a command. An
                engine with a ``longest_utterance`` (the spotter's length gate, which follows
                the configured phrases) raises it to that: a long phrase is not cut as talk.
            quick_silence: with an engine that ``decides_early`` (the spotter), the utterance is
                offered after this much silence, and a whole phrase is acted on at once. The
                silence is counted in the endpointer's 30 ms frames (0.25 acts at 0.27 s). 0.24
                and 0.21 were measured: each let one line of talk through in 80 minutes
                (docs/spotter-tuning.md).
            command_vad: what finds speech between commands: ``silero`` (Silero VAD: found
                every benchmark command at 10 and 5 dB SNR where webrtcvad behind its energy
                gate found 26 % and 3 %) or ``webrtc``. Answers keep webrtcvad.
            vad_aggressiveness: webrtcvad mode 0..3.
            clock: monotonic time source for timeouts and deadlines.
            timer: wall time, for how long a decoding takes (``decided_at`` is its start on
                ``clock`` plus its length on ``timer``: the benchmark's clock is audio time).
        """
        self._mic = mic
        self._answers = answer_recognizer
        self._commands = command_recognizer
        if not getattr(answer_recognizer, "text_judges_turns", True):
            # its text cannot tell a finished answer from a pause between phrases: keep the
            # fixed pause that ended answers before turns were judged
            trailing_silence = max(trailing_silence, UNJUDGED_END_PAUSE)
        self._turns = TurnPolicy(end_pause=trailing_silence, max_pause=max(max_pause, trailing_silence))
        self._command_silence = command_silence
        self._max_answer = max_answer
        self._max_command = max(max_command, getattr(command_recognizer, "longest_utterance", 0.0))
        self._quick_silence = quick_silence
        self._command_vad = command_vad
        self._aggressiveness = vad_aggressiveness
        self._clock = clock
        self._timer = timer
        self.decided_at: float | None = None
        """Clock time the last command ``next_command`` returned was decided (decoding included)."""
        self.talked_over = False
        """The last ``capture_answer`` began in speech already going on (``TALKED_OVER_ONSET``)."""
        self._command_ears: _Ears | None = None
        """The command endpointer, kept for the next ``next_command`` call (None: start afresh)."""

    @classmethod
    def from_config(cls, mic: FrameSource, answer_recognizer: Recognizer,
                    command_recognizer: Recognizer, listening: ListeningConfig,
                    clock: Callable[[], float] = time.monotonic) -> "Listener":
        """A listener with the configured pauses, limits and VAD mode (``listening:``)."""
        return cls(mic, answer_recognizer, command_recognizer,
                   trailing_silence=listening.trailing_silence,
                   command_silence=listening.command_silence,
                   max_answer=listening.max_answer,
                   max_pause=listening.max_pause,
                   vad_aggressiveness=listening.vad_aggressiveness,
                   clock=clock)

    def capture_answer(self, timeout: float, on_partial: Callable[[str], None] | None = None,
                       longest_pause: float | None = None) -> Transcript | None:
        """The next answer, or None if nobody starts speaking within ``timeout`` seconds.

        The answer ends on the turn being over (turns.py): each stretch of speech ends on a
        short pause and the answer so far is transcribed and judged; an unfinished-sounding one
        is waited on for up to ``max_pause`` seconds, and speech that resumes joins it (one
        waited on only because it was read unsurely is first heard again: ``judged``). A
        stretch the recognizer made no words of (a cough, a clatter, a breath past the voice
        detector) is not an answer: listening goes on until ``timeout``, as if nothing had been
        heard, so a partner still thinking is not moved on; unless the stretch surely holds
        words (Silero VAD is sure of a voice, or words were heard in it before): then the engine
        is asked again (``_Answer._recovered``). ``on_partial`` gets each new partial
        text while the answer is spoken. Raises MicrophoneLost from the microphone.

        An answer that was already going on when listening began (``talked_over``) returns as
        soon as its first stretch is over if that holds no words: its start went unheard, and
        waiting out ``timeout`` would only end in "no answer".

        ``longest_pause`` is the pause that ends a dictated note (``TurnPolicy.dictation``). Then a
        stretch that adds no words (a brush tapped, water poured) does not start the pause
        afresh: it is counted from the end of the words (a live QA pass over clatter had each
        burst hold the note open until the partners' next sentence joined it).
        """
        self.talked_over = False
        policy = self._turns if longest_pause is None else self._turns.dictation(longest_pause)
        endpointer = Endpointer(aggressiveness=self._aggressiveness,
                                trailing_silence=policy.end_pause, max_length=self._max_answer,
                                tail=min(ANSWER_TAIL, policy.end_pause))
        deadline = self._clock() + timeout
        answer = _Answer(self._answers, on_partial)
        transcript: Transcript | None = None
        silence_from: float | None = None  # stream time the current pause began
        needed = policy.max_pause  # pause (s) that ends the turn, given the text so far

        def done() -> bool:
            nonlocal answer, transcript, silence_from, needed
            if not answer.started:
                return self._past(deadline)
            if silence_from is None or _pause(endpointer, silence_from) < needed:
                return False
            if transcript is not None and transcript.text.strip():
                return True  # the turn is over
            log.debug("a sound of %.1f s with no words: still waiting for the answer", answer.seconds)
            answer, transcript, silence_from = _Answer(self._answers, on_partial), None, None
            needed = policy.max_pause
            return self.talked_over or self._past(deadline)

        heard_at = 0.0  # stream time of the last audio the endpointer gave the answer
        worded: tuple[str, float] | None = None  # a note's words so far, and where their pause began
        for event in self._events(lambda frame: endpointer.feed(frame.pcm), done, frames=True):
            if event is None:  # between frames: a pause past the tail has begun?
                if endpointer.in_speech and endpointer.time > heard_at:
                    answer.speculate()  # transcribe during the rest of the pause
                continue
            if not isinstance(event, SpeechEnded):
                heard_at = endpointer.time
            if isinstance(event, SpeechStarted):
                log.debug("answer %s (onset at stream time %.2f s)",
                          "resumed" if answer.started else "started", event.onset_time)
                if not answer.started and event.onset_time <= TALKED_OVER_ONSET:
                    self.talked_over = True
                silence_from = None
            if not isinstance(event, SpeechEnded):
                answer.add(event.pcm, new_stretch=isinstance(event, SpeechStarted))
                continue
            transcript = answer.transcribe()
            if event.reason != "silence" or answer.seconds >= self._max_answer:
                return _final(transcript, "answer", answer.seconds, event.reason)
            transcript, needed = judged(policy, transcript, answer.reread, opening=answer.stretches == 1)
            needed = policy.long_end_pause(needed, answer.seconds)
            silence_from = event.end_time - min(ANSWER_TAIL, policy.end_pause)
            if longest_pause is not None and transcript.text.strip():
                if worded is not None and worded[0] == transcript.text:
                    silence_from = worded[1]  # no new words: the pause goes on from the words' end
                worded = (transcript.text, silence_from)
            log.debug("pause after %r (confidence %s, end probability %s, also read %r): the turn "
                      "ends after %.1f s of silence", transcript.text, _figure(transcript.confidence),
                      _figure(transcript.end_probability), list(transcript.readings), needed)
        if transcript is not None and silence_from is not None:
            return _final(transcript, "answer", answer.seconds, "turn over")
        if self.talked_over:
            log.debug("what was heard of an answer begun over the question held no words")
        else:
            log.debug("no answer within %.1f s", timeout)
        return None

    def next_command(self, until: float, expected: tuple[str, ...] = ()) -> Transcript | None:
        """The first command heard before monotonic time ``until``, else None at ``until``.

        Utterances in which the grammar recognizer finds no words are skipped, and so is long
        talk: speech cut at ``max_command``, and its continuation, is never taken for a command
        (nor recognized at all). An utterance that may still be a command when ``until`` comes
        is heard to its end first (at most ``max_command`` and the pause after it later): the
        engine's ticks come every minute, and a command said across one was lost. Raises
        MicrophoneLost from the microphone.

        With an engine that ``decides_early``, the utterance so far starts being decided in the
        background once ``SPECULATE_AFTER`` s of a pause have passed; the verdict is taken when
        the pause reaches ``quick_silence`` (and thrown away if speech resumed first), so the
        decoding overlaps the wait. ``decided_at`` is the clock time the returned command's
        decision was ready (start of its decoding plus the decoding's duration).

        ``expected``: commands the session is waiting for (``ListenForCommands.awaited``),
        passed on to an engine that can weigh them (the spotter's ``expect``).
        """
        if (expect := getattr(self._commands, "expect", None)) is not None:
            expect(expected)
        ears, self._command_ears = self._command_ears, None
        if ears is None:
            ears = _Ears(Endpointer(aggressiveness=self._aggressiveness, trailing_silence=self._command_silence,
                                    max_length=self._max_command, detector=self._command_vad))
        command = self._command(ears, until)
        if not ears.endpointer.in_speech:  # between utterances: the next call goes on from here
            self._command_ears = ears
        return command

    def _command(self, ears: "_Ears", until: float) -> Transcript | None:
        """``next_command``'s listening, with the endpointer ``ears``."""
        endpointer = ears.endpointer
        self.decided_at = None
        stream: RecognitionStream | None = None
        audio = bytearray()  # the current utterance, for decoding it early
        cut_at: float | None = None  # stream time where long talk was last cut
        early = getattr(self._commands, "decides_early", False) and self._quick_silence < self._command_silence
        tried = False  # the utterance so far was already offered after a short pause
        ahead: _Decision | None = None  # a decision started during the current pause
        last: _Decision | None = None  # the latest decision started (they run in order)
        latest = until + self._max_command + self._command_silence

        def done() -> bool:  # at until, unless a possible command is still being said
            if not self._past(until):
                return False
            return stream is None or not endpointer.in_speech or self._past(latest)

        for event in self._events(ears.feed, done):
            if early and stream is not None and endpointer.in_speech:
                pause = endpointer.silence
                if pause == 0.0:
                    if ahead is not None:
                        ahead.drop(self._clock())  # speech went on: that verdict is not wanted
                    tried, ahead = False, None
                elif pause >= SPECULATE_AFTER and ahead is None and not tried:
                    ahead = last = self._decision(audio, last)
                if pause >= self._quick_silence and not tried:
                    tried = True  # a whole phrase already? act without waiting
                    if ahead is None:
                        ahead = last = self._decision(audio, last)
                    decision = ahead
                    heard_more = len(audio) > decision.size  # pause heard since it started
                    if heard_more:
                        decision.look_again(bytes(audio), self._clock())
                    quick = decision.transcript()
                    if quick is None and heard_more:  # a second look, at the longer audio
                        decision = last = self._decision(audio, last)
                        quick = decision.transcript()
                    if quick is not None:
                        self.decided_at = decision.ready_at
                        log.debug("command after a %.2f s pause: %r", pause, quick.text)
                        return quick
            if isinstance(event, SpeechStarted):
                continues = cut_at is not None and \
                    event.onset_time - cut_at < self._command_silence
                stream = None if continues else self._commands.stream()
                audio = bytearray()
            if isinstance(event, (SpeechStarted, SpeechChunk)):
                if stream is not None:
                    stream.accept(event.pcm)
                    audio += event.pcm
            elif event.reason == "max_length":
                cut_at, stream = event.end_time, None
                log.debug("long talk (over %.1f s): not a command", self._max_command)
            elif stream is not None and early and tried:
                stream = None  # nothing said since it was offered and turned down
            elif stream is not None:
                started, t0 = self._clock(), self._timer()
                transcript = _final(stream, "command", event)
                self.decided_at = started + self._timer() - t0
                stream = None
                if transcript is not None:
                    return transcript
            tried = tried and endpointer.in_speech
            ahead = ahead if endpointer.in_speech else None
        return None

    # -- internals ---------------------------------------------------------------------------

    def _decision(self, audio: bytearray, after: "_Decision | None") -> "_Decision":
        """The command engine's verdict on ``audio`` so far, started now in the background."""
        return _Decision(self._commands, bytes(audio), self._clock(), after, self._timer)

    def _past(self, deadline: float) -> bool:
        return self._clock() >= deadline

    def _events(self, feed: Callable[[Frame], list[Event]], done: Callable[[], bool],
                frames: bool = False) -> Iterator[Event | None]:
        """The events ``feed`` (an endpointer's) makes of the microphone's frames until ``done()``
        (checked between frames); with ``frames``, also None after each frame's events."""
        while not done():
            frame = self._mic.read(_POLL)
            if frame is not None:
                yield from feed(frame)
                if frames:
                    yield None


class _Ears:
    """An endpointer fed microphone frames, which starts afresh where the audio breaks off.

    ``next_command`` returns at its deadline and is called again at once. With a new endpointer
    each time, a command begun in that instant lost its pre-roll and the onset frames the old
    endpointer had taken but not yet judged to be speech: through PulseAudio, "pause" said just
    as a minute ticked over was heard as "All.". So the command endpointer lives on from call to
    call, as long as the frames follow one another (``CONTINUOUS_GAP``)."""

    def __init__(self, endpointer: Endpointer) -> None:
        self.endpointer = endpointer
        self._heard_to: float | None = None  # capture time of the end of the last frame fed

    def feed(self, frame: Frame) -> list[Event]:
        if self._heard_to is not None and frame.start_time - self._heard_to > CONTINUOUS_GAP:
            log.debug("%.2f s of audio missing: the command endpointer starts afresh",
                      frame.start_time - self._heard_to)
            self.endpointer.reset()
        self._heard_to = frame.end_time
        return self.endpointer.feed(frame.pcm)


class _Decision:
    """A decides-early engine's verdict on one utterance so far, decoded in the background.

    Decisions run one at a time, in order (the one worker thread): ``ready_at`` counts the wait
    for the decision before it (``after``) too. When speech resumes before the verdict is taken,
    the listener ``drop``s it: the engine is told between its decoding steps (``stream(moot=)``)
    and stops there, so a pause inside a command ("take a ... note") no longer makes the
    decision on the whole command wait for a full decision on its first words."""

    def __init__(self, recognizer: Recognizer, audio: bytes, now: float, after: "_Decision | None",
                 timer: Callable[[], float]) -> None:
        self._recognizer, self._audio, self._now, self._after = recognizer, audio, now, after
        self._timer = timer
        self.size = len(audio)
        """Bytes of audio decided on."""
        self._dropped_at: float | None = None
        self._longer: tuple[bytes, float] | None = None  # the second look's audio, and since when
        self._begun = self._t0 = 0.0  # when decoding began, on the clock and on the timer
        self._future: Future[tuple[Transcript, float]] = _background().submit(self._decode)

    def drop(self, at: float) -> None:
        """The verdict is not wanted any more (speech resumed at clock time ``at``)."""
        self._dropped_at = at

    def look_again(self, audio: bytes, at: float) -> None:
        """The pause reached ``quick_silence`` at clock time ``at``: should this decision find
        no command as it came, the engine may hear ``audio`` (the utterance so far) next,
        before the decision's slower hearings (``stream(more=)``). A command taken there is
        acted on a hearing or two sooner."""
        self._longer = (audio, at)

    def _now_on_clock(self) -> float:
        """Clock time in the decoding, so that audio fed faster than real time keeps its pace."""
        return self._begun + self._timer() - self._t0

    def _more(self) -> bytes | None:
        """The second look's audio, once the decoding has reached the time it was offered."""
        longer = self._longer
        return longer[0] if longer is not None and self._now_on_clock() >= longer[1] else None

    def _decode(self) -> tuple[Transcript, float]:
        """(the verdict, the clock time it was ready)."""
        after, self._after = self._after, None  # the chain is not needed past this point
        self._begun = max(self._now, after.ready_at) if after is not None else self._now
        self._t0 = self._timer()

        def moot() -> bool:
            return self._dropped_at is not None and self._now_on_clock() >= self._dropped_at

        # decides_early engines take moot= and more=
        stream = self._recognizer.stream(moot=moot, more=self._more)  # type: ignore[call-arg]
        stream.accept(self._audio)
        return stream.finish(), self._now_on_clock()

    @property
    def ready_at(self) -> float:
        """Clock time the verdict was (or will be) ready: waits for it."""
        return self._future.result()[1]

    def transcript(self) -> Transcript | None:
        """The verdict (waiting for it): the transcript, or None when it is no command."""
        transcript = self._future.result()[0]
        return transcript if transcript.text.strip() else None


def _final(stream: RecognitionStream | Transcript, kind: str, ended: SpeechEnded | float,
           reason: str = "") -> Transcript | None:
    """Finish the recognizer's stream (or take a transcript); None when it found no words."""
    transcript = stream if isinstance(stream, Transcript) else stream.finish()
    if isinstance(ended, SpeechEnded):
        seconds, reason = ended.end_time - ended.start_time, ended.reason
    else:
        seconds = ended
    if not transcript.text.strip():
        log.debug("%s of %.1f s (%s): no words recognized", kind, seconds, reason)
        return None
    log.debug("%s of %.1f s (%s): %r", kind, seconds, reason, transcript.text)
    return transcript


_BACKGROUND: list[ThreadPoolExecutor] = []


def _figure(value: float | None) -> str:
    """A recognizer's figure for the log: two decimals, or "n/a" where the engine gives none."""
    return "n/a" if value is None else f"{value:.2f}"


def _background() -> ThreadPoolExecutor:
    """One worker thread for early transcriptions (the engines release the GIL while decoding)."""
    if not _BACKGROUND:
        _BACKGROUND.append(ThreadPoolExecutor(1, thread_name_prefix="duet-early-asr"))
    return _BACKGROUND[0]


def transcribe_answer(recognizer: Recognizer, pcm: bytes) -> Transcript:
    """One stretch of answer audio transcribed as ``capture_answer`` transcribes it, second
    reading of a wordless voice included (for the benchmark's short answers)."""
    answer = _Answer(recognizer, None)
    answer.add(pcm, new_stretch=True)
    return answer.transcribe()


def _pause(endpointer: Endpointer, silence_from: float) -> float:
    """Seconds of the pause that began at ``silence_from``: up to now, or up to a voice that
    may be the partner going on (``Endpointer.voice_pending``). Without the latter, a pause a
    little shorter than the one that ends the turn ended it all the same, while the voice
    after it was still being confirmed (0.18 s of it, in up to 0.3 s)."""
    pending = endpointer.voice_pending
    return (endpointer.time if pending is None else pending) - silence_from


def judged_answer(recognizer: Recognizer, pcm: bytes, policy: TurnPolicy) -> tuple[Transcript, float | None]:
    """One stretch of answer audio transcribed and judged as ``capture_answer`` judges it: the
    transcript it keeps and the silence (s) that would end the turn after it (None: no words,
    not an answer). For the benchmark's short answers."""
    answer = _Answer(recognizer, None)
    answer.add(pcm, new_stretch=True)
    transcript = answer.transcribe()
    if not transcript.text.strip():
        return transcript, None
    return judged(policy, transcript, answer.reread, opening=True)


class _Answer:
    """One answer's audio across its stretches, and its transcript so far.

    The first stretch is transcribed by the stream that heard it (a streaming engine has done
    most of the work already); once speech resumes, the whole answer is transcribed afresh so the
    recognizer sees it as one utterance.
    """

    def __init__(self, recognizer: Recognizer, on_partial: Callable[[str], None] | None) -> None:
        self._recognizer = recognizer
        self._on_partial = on_partial
        self._audio = bytearray()
        self._stream: RecognitionStream | None = None
        self._stretches = 0
        self._last_partial = ""
        self._early: tuple[int, Future[Transcript]] | None = None  # (audio length, transcript)
        self._worded: tuple[Transcript, int] | None = None  # the last transcript with words, audio length

    @property
    def started(self) -> bool:
        return self._stretches > 0

    @property
    def stretches(self) -> int:
        """Stretches of speech heard so far (pauses between them)."""
        return self._stretches

    @property
    def seconds(self) -> float:
        return len(self._audio) / (SAMPLE_RATE * SAMPLE_WIDTH)

    def add(self, pcm: bytes, new_stretch: bool) -> None:
        if new_stretch:
            self._stretches += 1
            self._stream = self._recognizer.stream()
        self._audio += pcm
        assert self._stream is not None
        partial = self._stream.accept(pcm)
        if self._on_partial is not None and partial and partial != self._last_partial:
            self._last_partial = partial
            self._on_partial(partial)

    def speculate(self) -> None:
        """Start transcribing the answer so far in the background (once per pause): if the
        pause turns out to end the stretch, ``transcribe`` takes this result, so the decode ran
        while the pause was still being waited out."""
        if self._early is not None and self._early[0] == len(self._audio):
            return
        audio = bytes(self._audio)
        self._early = (len(audio), _background().submit(self._decode, audio))

    def _decode(self, audio: bytes, words_expected: bool = False) -> Transcript:
        if words_expected:  # only asked of an engine that ``expects_words``
            stream = self._recognizer.stream(words_expected=True)  # type: ignore[call-arg]
        else:
            stream = self._recognizer.stream()
        stream.accept(audio)
        return stream.finish()

    def transcribe(self) -> Transcript:
        """The whole answer so far, transcribed: not wordless when it surely holds words."""
        transcript = self._whole()
        if not transcript.text.strip():
            transcript = self._recovered(transcript)
        if transcript.text.strip():
            self._worded = (transcript, len(self._audio))
        return transcript

    def reread(self) -> Transcript:
        """The answer so far heard once more, from ``REREAD_SHIFT`` later: another reading of the
        same words where the first was unsure (``judged``)."""
        return self._decode(from_later(self._audio, REREAD_SHIFT))

    def _recovered(self, wordless: Transcript) -> Transcript:
        """The answer, when the engine found no words in it though it surely holds some: part of
        it had words before, or Silero VAD is sure it is a voice (``vad.surely_speech``).

        Moonshine now and then ends an answer at its first step: "Happy", "Calm", "So" (15 of
        213 short answers in bench section 8), or a whole paused answer whose first stretch it
        had read. The answer was lost, and the partner sat through ``answer_timeout`` unheard.
        It is asked again, told that words are there, where it ``expects_words``; else (or if
        that too is empty) the rest after the earlier words is heard on its own and joined.
        """
        if self._worded is None and not surely_speech(bytes(self._audio)):
            return wordless  # a sound without speech: not an answer
        log.debug("the answer came out wordless, though %s",
                  f"{self._worded[0].text!r} was heard in it" if self._worded else "a voice is surely in it")
        told = getattr(self._recognizer, "expects_words", False)
        again = self._decode(bytes(self._audio), words_expected=True) if told else wordless
        if self._worded is None:  # "hm" while thinking is still no answer
            return again if again.text.strip() and not only_fillers(again.text) else wordless
        if again.text.strip():
            return again
        earlier, size = self._worded
        rest = self._decode(bytes(self._audio[size:]))
        return _joined(earlier, rest, size, len(self._audio) - size) if rest.text.strip() else earlier

    def _whole(self) -> Transcript:
        """The whole answer so far, as the engine hears it."""
        if self._early is not None and self._early[0] == len(self._audio):
            try:
                return self._early[1].result()
            except Exception:  # noqa: BLE001 - decoded again below, and raised there
                log.debug("early transcription failed", exc_info=True)
        if self._stretches == 1 and self._stream is not None:
            stream, self._stream = self._stream, None
            return stream.finish()
        return self._decode(bytes(self._audio))


def judged(policy: TurnPolicy, transcript: Transcript, reread: Callable[[], Transcript],
           opening: bool = False) -> tuple[Transcript, float]:
    """The answer's transcript to keep and the silence (s) after it that ends the turn
    (``opening``: the answer so far is its first stretch, ``turns.opens_joined``).

    An answer waited on only because the recognizer was unsure of its words is heard once more
    (``reread``: from ``REREAD_SHIFT`` later); when that reading ends the turn, it is kept. The
    second decoding runs only then, in the pause, so a sure answer's turn gap is unchanged.
    """
    needed = _pause_after(policy, transcript, opening)
    if needed <= policy.end_pause or not policy.unsure_only(
            transcript.text, transcript.confidence, readings=transcript.readings,
            end_probability=transcript.end_probability, opening=opening):
        return transcript, needed
    again = reread()
    pause = _pause_after(policy, again, opening) if again.text.strip() else needed
    if pause >= needed:
        return transcript, needed
    log.debug("unsure of %r (confidence %s): heard again as %r (confidence %s), which ends the turn",
              transcript.text, _figure(transcript.confidence), again.text, _figure(again.confidence))
    return again, pause


def _pause_after(policy: TurnPolicy, transcript: Transcript, opening: bool) -> float:
    return policy.pause_for(transcript.text, transcript.confidence, readings=transcript.readings,
                            end_probability=transcript.end_probability, opening=opening)


def _joined(first: Transcript, second: Transcript, first_size: int, second_size: int) -> Transcript:
    """Two transcripts of consecutive audio as one (``*_size``: their audio's lengths, which
    weigh the confidences); the second's readings and end probability, which are about the end."""
    confidence = None
    if first.confidence is not None and second.confidence is not None:
        weighed = first.confidence * first_size + second.confidence * second_size
        confidence = weighed / (first_size + second_size)
    return Transcript(f"{first.text} {second.text}", confidence=confidence, engine=second.engine,
                      readings=tuple(f"{first.text} {r}" for r in second.readings),
                      end_probability=second.end_probability)
