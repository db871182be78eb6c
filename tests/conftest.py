from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.rig import VirtualAudio, start_virtual_audio, stop_virtual_audio


@pytest.fixture(scope="session")
def virtual_audio() -> VirtualAudio:
    """The PulseAudio daemon with the virtual mic and speaker.

    Uses the daemon CI started (PULSE_RUNTIME_PATH set) or starts a private one for this run.
    """
    existing = os.environ.get("PULSE_RUNTIME_PATH")
    runtime = Path(existing) if existing else Path(tempfile.mkdtemp(prefix="duet-pulse-"))
    audio = start_virtual_audio(runtime)
    yield audio
    if not existing:
        stop_virtual_audio(audio)
