"""Small builders shared by the tests: configs, an engine harness, a rehearsal script, a
microphone over prepared audio, and the real recordings of Debian's ``pocketsphinx-testdata``."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.config import Config
from assistant.journal import Journal
from assistant.session.clock import SimulatedClock
from assistant.session.events import Action, Say
from assistant.session.runner import new_session
from assistant.speech.asr import SAMPLE_RATE
from assistant.speech.wav import read_wav

def _cpu_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


AVX512 = "avx512f" in _cpu_flags()
"""Whether this CPU has AVX-512. Moonshine's int8 graphs then run on other onnxruntime kernels
than on the AVX2 machines Duet's thresholds and these tests' voices were chosen on, and read some
synthesized voices differently (a session on an AVX-512 VNNI machine, 2026-12-03: "start with
the" as "start with her.", "Undo that" as "Undo Matt"; bench section 8: 34 of 46 paused answers
kept whole, against 37)."""


def reads_differently_on_avx512(what: str) -> pytest.MarkDecorator:
    """xfail on an AVX-512 machine only, where Moonshine reads ``what`` otherwise (see ``AVX512``);
    elsewhere the test stays strict."""
    return pytest.mark.xfail(AVX512, strict=False,
                             reason=f"on this AVX-512 CPU Moonshine's int8 kernels read {what}")


def found_on_avx512(what: str) -> pytest.MarkDecorator:
    """The converse: xfail on a CPU without AVX-512, for a case found on an AVX-512 machine, where
    Moonshine may read ``what``."""
    return pytest.mark.xfail(not AVX512, strict=False,
                             reason=f"without AVX-512 Moonshine's int8 kernels may read {what}")


DATA = Path("/usr/share/pocketsphinx/test/data")
"""Real recordings with transcripts (Debian ``pocketsphinx-testdata``)."""
LIBRIVOX = DATA / "librivox"

SCRIPT = textwrap.dedent("""\
    - say: "calm and a bit tired"
    - say: "finish the sky"
    - say: "excited"
    - say: "skip"
    - {at: "12:00", say: "how much time is left"}
    - {at: "13:00", say: "I wonder how much time is left on the parking meter"}
    - {at: "14:00", say: "take a note buy more cobalt blue"}
    - {at: "20:30", say: "start the debrief"}
    - say: "we shared the brushes well"
    - say: "the light changed"
    - silence: true
    - say: "pass"
    - say: "mixing colours"
    - say: "calm"
    - say: "paint the clouds"
""")
"""A whole rehearsed session: answers, a skip, commands, talk, a silence and a pass."""


class ArraySource:
    """The microphone seam over prepared audio (bytes, or int16-scale samples): 30 ms frames as
    fast as they are read; its clock is the stream time, so the listener's pauses are measured
    in audio time. Past the end it raises EOFError: the listener's clock would stop there, and
    a call waiting for a later deadline would wait forever."""

    def __init__(self, audio: bytes | np.ndarray) -> None:
        from assistant.speech.vad import FRAME_BYTES

        if isinstance(audio, np.ndarray):
            audio = np.clip(audio, -32768, 32767).astype("<i2").tobytes()
        self._pcm, self._pos, self._frame = audio, 0, FRAME_BYTES

    def now(self) -> float:
        return self._pos / (2 * SAMPLE_RATE)

    def read(self, timeout: float):
        from assistant.speech.mic import Frame

        if self._pos + self._frame > len(self._pcm):
            raise EOFError("the prepared audio ran out")
        self._pos += self._frame
        return Frame(self._pcm[self._pos - self._frame: self._pos], self.now())


def pink_noise(n: int, seed: int) -> np.ndarray:
    """``n`` samples of steady noise whose power falls as 1/f (a fan, wind, running water), RMS 1."""
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    spectrum[0] = 0
    x = np.fft.irfft(spectrum, n)
    return x / np.sqrt(np.mean(x**2))


def rss_mb() -> float:
    """Resident memory of this process now, MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def librivox_files() -> list[tuple[Path, str]]:
    """(WAV, transcript) of each LibriVox utterance; fails the test when the package is missing."""
    if not LIBRIVOX.is_dir():
        pytest.fail("apt-get install pocketsphinx-testdata (real recordings for the tests)")
    pairs = []
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        text, _, name = line.rpartition("(")
        text = text.replace("<s>", "").replace("</s>", "").strip()
        pairs.append((LIBRIVOX / f"{name.strip(' )')}.wav", text))
    return pairs


def librivox() -> list[tuple[bytes, str]]:
    """(16 kHz mono PCM, transcript) of each LibriVox utterance."""
    return [(read_wav(path), text) for path, text in librivox_files()]


def config(**overrides: Any) -> Config:
    """The default configuration with some sections replaced (dicts are validated)."""
    return Config.model_validate({"partners": ["Ana", "Ben"], **overrides})


def said(actions: list[Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, Say)]


class Harness:
    """An engine on a simulated clock, writing to a real journal file."""

    def __init__(self, tmp_path: Path, cfg: Config | None = None, journal: Journal | None = None) -> None:
        self.config = cfg or config()
        self.journal = journal or Journal(tmp_path / "journal.json")
        self.clock = SimulatedClock()
        self.engine = new_session(self.config, self.journal, self.clock)
        self.first = self.engine.start()

    @property
    def state(self) -> str:
        return self.engine.state

    def send(self, event: Any) -> list[Action]:
        return self.engine.handle(event)

    def session(self) -> dict[str, Any]:
        return self.journal.get(self.engine.log.session_id)


def rehearse_on(journal_path: Path, script: str, day: str, cfg: Config | None = None,
                interrupt_at_work: bool = False) -> tuple[int, list[str]]:
    """One whole rehearsed session held on ``day`` (YYYY-MM-DD, 10:00 local), through the same
    code as ``duet rehearse --date``, into a real journal file; returns its id and what Duet said.

    ``interrupt_at_work`` stops it (as Ctrl-C would) when the work phase begins, leaving an
    interrupted session behind.
    """
    from datetime import datetime, timezone

    import yaml

    from assistant.session.rehearsal import ScriptedPort, ScriptLine
    from assistant.session.runner import run

    lines = [ScriptLine.model_validate(e if isinstance(e, dict) else {"say": e}) for e in yaml.safe_load(script)]
    clock = SimulatedClock(datetime.fromisoformat(day).replace(hour=10).astimezone(timezone.utc))
    with Journal(journal_path) as journal:
        engine = new_session(cfg or config(), journal, clock)
        port = ScriptedPort(lines, clock)
        if interrupt_at_work:
            def stop(action: Any) -> Any:
                raise KeyboardInterrupt
            port.listen_commands = stop  # type: ignore[method-assign]
            try:
                run(engine, port)
            except KeyboardInterrupt:
                pass
        else:
            run(engine, port)
        return engine.log.session_id, [str(line["text"]) for line in port.transcript.lines if line["who"] == "Duet"]
