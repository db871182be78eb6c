"""Speech to text: the recognizer seam every engine plugs into.

Audio crosses this seam as 16 kHz mono signed 16-bit little-endian PCM (``SAMPLE_RATE``), the
format every engine here wants. An engine is asked for a fresh ``RecognitionStream`` per
utterance: vosk's recognizers grow in memory when kept alive for hours, and a new stream is cheap
because the model itself is loaded once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

SAMPLE_RATE = 16_000
"""Samples per second of all audio given to a recognizer."""

SAMPLE_WIDTH = 2
"""Bytes per sample (signed 16-bit little-endian, mono)."""


@dataclass(frozen=True)
class Word:
    """One recognized word with its place in the utterance."""

    text: str
    """The word as the engine spelled it."""
    start: float
    """Seconds from the start of the utterance's audio."""
    end: float
    """Seconds from the start of the utterance's audio."""
    confidence: float | None = None
    """0..1 where the engine gives one."""


@dataclass(frozen=True)
class Transcript:
    """What an engine made of one utterance."""

    text: str
    """The words, space separated; empty when nothing was recognized."""
    confidence: float | None = None
    """0..1 for the whole utterance where the engine gives one."""
    words: tuple[Word, ...] = field(default_factory=tuple)
    """Word timings where the engine gives them."""
    engine: str = ""
    """Engine and model that produced it, e.g. ``whisper:tiny.en``."""
    heard: str = ""
    """For a command spotter: the words actually heard (``text`` is then the phrase matched)."""
    readings: tuple[str, ...] = ()
    """Other likely readings of the utterance that differ from ``text`` from its last word on,
    where the engine gives them (Moonshine, for answers: turns.py reads them)."""
    end_probability: float | None = None
    """0..1: how likely the engine found it that the utterance ends right after its last word
    (a full stop, "?", "!" or nothing more), where the engine gives it (Moonshine, for answers)."""


class RecognitionStream(Protocol):
    """One utterance being recognized."""

    def accept(self, pcm: bytes) -> str | None:
        """Feed audio; return the partial text so far when the engine has one."""

    def finish(self) -> Transcript:
        """End the utterance and return the final transcript."""


class Recognizer(Protocol):
    """A loaded engine: cheap to open streams on, expensive to create."""

    name: str
    """Engine and model, e.g. ``pocketsphinx:en-us`` (shown by ``duet doctor``)."""

    def stream(self) -> RecognitionStream:
        """Start recognizing a new utterance."""


class BufferedStream:
    """A stream for engines that decode a whole utterance at once (Whisper, pocketsphinx).

    ``accept`` only buffers (so no partial text); ``finish`` hands the audio to ``decode``.
    """

    def __init__(self, decode: Callable[[bytes], Transcript]) -> None:
        self._decode = decode
        self._audio = bytearray()

    def accept(self, pcm: bytes) -> str | None:
        self._audio += pcm
        return None

    def finish(self) -> Transcript:
        return self._decode(bytes(self._audio))
