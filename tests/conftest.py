from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rig import VirtualAudio, start_virtual_audio, stop_virtual_audio


def _own_daemon() -> bool:
    """Whether this process starts a daemon of its own rather than using the one CI started.

    The tests run in parallel (``-n``, see pyproject.toml): each worker plays into and records
    from its own virtual devices, or two workers would hear each other's answers and prompts.
    """
    return "PULSE_RUNTIME_PATH" not in os.environ or "PYTEST_XDIST_WORKER" in os.environ


@pytest.fixture(scope="session", autouse=True)
def _daemon() -> Iterator[VirtualAudio | None]:
    """This process's daemon, or None where PulseAudio is not installed.

    Every test reaches it, whether it asks for it or not: a test that speaks to the default
    speaker without asking must not be heard in another worker's test.
    """
    if shutil.which("pulseaudio") is None:
        yield None
        return
    own = _own_daemon()
    runtime = Path(tempfile.mkdtemp(prefix="duet-pulse-")) if own else Path(os.environ["PULSE_RUNTIME_PATH"])
    audio = start_virtual_audio(runtime)
    yield audio
    if own:
        stop_virtual_audio(audio)


@pytest.fixture(scope="session")
def virtual_audio(_daemon: VirtualAudio | None) -> VirtualAudio:
    """The PulseAudio daemon with the virtual mic and speaker (its environment in ``os.environ``)."""
    if _daemon is None:
        raise RuntimeError("pulseaudio is not installed: apt-get install pulseaudio sox (see .ci/run)")
    return _daemon
