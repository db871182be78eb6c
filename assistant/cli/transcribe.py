"""Transcribing a recording file (``duet transcribe``), with progress for long files."""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from assistant.config import Config
from assistant.errors import DuetError
from assistant.speech.asr import SAMPLE_RATE, SAMPLE_WIDTH, Transcript

CHUNK = SAMPLE_RATE * SAMPLE_WIDTH  # one second of audio per step


def transcribe_file(path: Path, engine: str, config: Config, progress: bool = True) -> Transcript:
    from assistant.speech.engines import open_recognizer
    from assistant.speech.wav import WavError, read_wav

    try:
        pcm = read_wav(path)
    except WavError as err:
        raise DuetError(str(err)) from None
    recognizer = open_recognizer(engine, vosk_model=config.speech.vosk_model, threads=config.speech.threads)
    stream = recognizer.stream()
    seconds = len(pcm) / CHUNK
    with tqdm(total=round(seconds, 1), unit="s", desc="transcribing", disable=not progress or seconds < 10,
              leave=False) as bar:
        for start in range(0, len(pcm), CHUNK):
            stream.accept(pcm[start:start + CHUNK])
            bar.update(round(min(CHUNK, len(pcm) - start) / CHUNK, 1))
        return stream.finish()
