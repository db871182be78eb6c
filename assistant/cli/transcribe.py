"""Transcribing a recording file (``duet transcribe``), with progress for long files.

A long recording is transcribed in pieces of at most ``PIECE_SECONDS``, each cut at its quietest
moment (``asr_moonshine.split_long``), so the progress bar follows the decoding itself (a QA pass
saw it reach 100 % while an hour's file was only read into memory, then wait minutes with
nothing shown) and the engine never holds the whole hour at once.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from assistant.config import Config
from assistant.errors import DuetError
from assistant.speech.asr import SAMPLE_RATE, SAMPLE_WIDTH, Transcript

PIECE_SECONDS = 30.0
"""Longest piece of a recording handed to the engine at once (Whisper's own window)."""
SHORTEST_PIECE = 20.0
"""Shortest piece a cut may leave, so cuts fall in pauses, not between every word."""
PROGRESS_FROM = 10.0
"""Seconds of audio from which a progress bar is shown."""


def transcribe_file(path: Path, engine: str, config: Config, progress: bool = True) -> Transcript:
    from assistant.speech.asr_moonshine import split_long
    from assistant.speech.engines import open_recognizer
    from assistant.speech.wav import WavError, read_wav

    try:
        pcm = read_wav(path)
    except WavError as err:
        raise DuetError(str(err)) from None
    recognizer = open_recognizer(engine, vosk_model=config.speech.vosk_model, threads=config.speech.threads)
    seconds = len(pcm) / (SAMPLE_RATE * SAMPLE_WIDTH)
    pieces = split_long(pcm, longest=PIECE_SECONDS, shortest=SHORTEST_PIECE)
    heard: list[tuple[Transcript, float, float]] = []  # (transcript, start, seconds)
    with tqdm(total=round(seconds, 1), unit="s", desc="transcribing", disable=not progress or seconds < PROGRESS_FROM,
              leave=False) as bar:
        start = 0.0
        for piece in pieces:
            stream = recognizer.stream()
            stream.accept(piece)
            length = len(piece) / (SAMPLE_RATE * SAMPLE_WIDTH)
            heard.append((stream.finish(), start, length))
            start += length
            bar.n = round(min(start, seconds), 1)  # set, not added: tenths added up past the total
            bar.refresh()
    return _joined(heard, recognizer.name)


def _joined(heard: list[tuple[Transcript, float, float]], engine: str) -> Transcript:
    """The pieces' transcripts as one: words in order with their times from the file's start,
    the confidence weighted by each piece's length."""
    said = [(t, start, length) for t, start, length in heard if t.text.strip()]
    if not said:
        return Transcript("", engine=heard[0][0].engine if heard else engine)
    if len(said) == 1 and said[0][1] == 0.0:
        return said[0][0]
    rated = [(t.confidence, length) for t, _, length in said if t.confidence is not None]
    confidence = sum(c * n for c, n in rated) / sum(n for _, n in rated) if rated else None
    words = tuple(replace(w, start=w.start + start, end=w.end + start) for t, start, _ in said for w in t.words)
    return Transcript(" ".join(t.text.strip() for t, _, _ in said), confidence=confidence, words=words,
                      engine=said[0][0].engine)
