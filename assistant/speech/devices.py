"""Audio devices, found once for the microphone and the speaker: by index, name or default, with
a re-scan when nothing matches, and the stream format a device accepts.

PortAudio lists devices only when it starts, so a sound server started after Duet (or a device
plugged in) is seen only after a re-scan; a re-scan closes every stream, so it happens only while
none of ours is open (``OPEN_STREAMS``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import weakref
from typing import Any, Literal

import sounddevice as sd

log = logging.getLogger(__name__)

_ALSA_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p)


@_ALSA_HANDLER
def _alsa_said(file: bytes | None, line: int, function: bytes | None, err: int, fmt: bytes | None) -> None:
    log.debug("ALSA %s: %s", (function or b"").decode(errors="replace"), (fmt or b"").decode(errors="replace"))


def _alsa_to_the_log() -> None:
    """alsa-lib's messages ("ALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred") go to the
    log, not the terminal: written straight to stderr, they broke into ``duet run``'s transcript
    between Duet's and the partners' lines (a QA pass). Its printf-style arguments are not read."""
    name = ctypes.util.find_library("asound")
    if not name:
        return
    try:
        ctypes.CDLL(name).snd_lib_error_set_handler(_alsa_said)
    except (OSError, AttributeError) as err:
        log.debug("alsa-lib's messages stay on stderr: %s", err)


_alsa_to_the_log()

Kind = Literal["input", "output"]

OPEN_STREAMS: "weakref.WeakSet[Any]" = weakref.WeakSet()
"""Streams of ours that are open; PortAudio is re-initialized only while this is empty."""


def find_device(device: str | int | None, kind: Kind) -> tuple[int, str]:
    """Resolve a device given by index, name (exact, else case-insensitive substring) or None.

    Returns (PortAudio index, name). Raises LookupError with a one-line message naming the
    devices that do exist. PortAudio lists devices once, when it starts; if nothing matches, the
    list is refreshed once (the sound server may have started after Duet, or a device may have
    been plugged in) before giving up.
    """
    try:
        return _find_device(device, kind)
    except LookupError:
        if not refresh_devices():
            raise
        return _find_device(device, kind)


def list_devices(kind: Kind) -> list[str]:
    """Names of the devices that can record (``input``) or play (``output``)."""
    return [name for _, name in _devices(kind)]


def refresh_devices() -> bool:
    """Re-scan PortAudio's devices, unless a stream of ours is open (it would be closed)."""
    if len(OPEN_STREAMS):
        return False
    log.debug("re-initializing PortAudio to re-scan devices")
    sd._terminate()  # noqa: SLF001 - sounddevice's documented way to re-scan devices
    sd._initialize()  # noqa: SLF001
    return True


def _devices(kind: str) -> list[tuple[int, str]]:
    channels = f"max_{kind}_channels"
    try:
        return [(i, d["name"]) for i, d in enumerate(sd.query_devices()) if d[channels] > 0]
    except sd.PortAudioError as err:
        raise LookupError(f"the audio system does not answer ({err})") from None


def _find_device(device: str | int | None, kind: str) -> tuple[int, str]:
    found = _devices(kind)
    names = ", ".join(f"{i}: {n}" for i, n in found) or "none"
    if not found:
        thing = "microphone" if kind == "input" else "speaker"  # the config cannot help (a QA pass)
        raise LookupError(f"no {kind} device found (PortAudio lists none): is the sound server (PulseAudio or "
                          f"PipeWire) running, and a {thing} plugged in?")
    if device is None:
        try:
            default = sd.query_devices(kind=kind)
            return int(default["index"]), str(default["name"])
        except (sd.PortAudioError, ValueError):
            return found[0]
    if isinstance(device, int) or (isinstance(device, str) and device.isdigit()):
        match = [d for d in found if d[0] == int(device)]
    else:
        match = [d for d in found if d[1] == device] or \
                [d for d in found if device.lower() in d[1].lower()]
    if not match:
        raise LookupError(f"no {kind} device matches {device!r}; available: {names}")
    return match[0]


def stream_format(index: int, kind: Kind, rate: int) -> tuple[int, int]:
    """(rate, channels) to open device ``index`` with: ``rate`` and mono when it takes them, else
    its default rate and/or two channels (the caller converts)."""
    info = sd.query_devices(index)
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    default_rate = int(info["default_samplerate"])
    for candidate in dict.fromkeys((rate, default_rate)):
        for channels in (1, min(2, int(info[f"max_{kind}_channels"]))):
            try:
                check(index, channels=channels, dtype="int16", samplerate=candidate)
                return candidate, channels
            except sd.PortAudioError:
                continue
    return default_rate, 1
