from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.rig import (
    PULSEAUDIO_MISSING,
    VirtualAudio,
    pulseaudio_installed,
    start_virtual_audio,
    stop_virtual_audio,
)

_DAEMON = pytest.StashKey[tuple[VirtualAudio, bool]]()
"""This process's daemon, and whether it started it (and so stops it)."""


def pytest_configure(config: pytest.Config) -> None:
    """Start this process's PulseAudio daemon before the tests are collected.

    Before, not in a fixture: importing sounddevice scans the devices once, and a test module
    imported before the daemon ran would see no ``pulse`` device. The tests run in parallel
    (``-n``, see pyproject.toml): each worker plays into and records from devices of its own,
    or two workers would hear each other's answers and prompts. Under ``-n 0`` the daemon CI
    started (PULSE_RUNTIME_PATH) is used; the controller of the workers runs no test.
    """
    worker = "PYTEST_XDIST_WORKER" in os.environ
    if not pulseaudio_installed() or (not worker and config.getoption("numprocesses", None)):
        return
    own = worker or "PULSE_RUNTIME_PATH" not in os.environ
    runtime = Path(tempfile.mkdtemp(prefix="duet-pulse-")) if own else Path(os.environ["PULSE_RUNTIME_PATH"])
    config.stash[_DAEMON] = (start_virtual_audio(runtime), own)


def pytest_unconfigure(config: pytest.Config) -> None:
    audio, own = config.stash.get(_DAEMON, (None, False))
    if audio is not None and own:
        stop_virtual_audio(audio)


@pytest.fixture(scope="session")
def virtual_audio(pytestconfig: pytest.Config) -> VirtualAudio:
    """The PulseAudio daemon with the virtual mic and speaker (its environment in ``os.environ``).

    Every test reaches it, whether it asks for it or not: the environment is set for the
    whole process."""
    if _DAEMON not in pytestconfig.stash:
        raise RuntimeError(PULSEAUDIO_MISSING)
    return pytestconfig.stash[_DAEMON][0]
