from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.rig import VirtualAudio, start_virtual_audio, stop_virtual_audio


@pytest.fixture(scope="session")
def virtual_audio() -> VirtualAudio:
    """A private PulseAudio daemon for this test run (virtual mic and speaker)."""
    runtime = Path(tempfile.mkdtemp(prefix="duet-pulse-"))
    audio = start_virtual_audio(runtime)
    yield audio
    stop_virtual_audio(audio)
