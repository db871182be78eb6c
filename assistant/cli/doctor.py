"""``duet doctor``: one line per part of the system, OK or what to do about it."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.config import Config
from assistant.errors import DuetError, os_error

LEVEL_SECONDS = 3.0
QUIET_DBFS = -60.0
"""Below this peak level over the check, the microphone is probably muted or disconnected."""


@dataclass
class Check:
    """The result of one check."""

    name: str
    ok: bool
    detail: str
    """What was found, or what to do."""


def run_checks(config: Config, journal_path: Path) -> list[Check]:
    return [
        check_devices("input", config.listening.input_device),
        check_level(config),
        check_devices("output", config.listening.output_device),
        *check_engines(config),
        *check_wake_word(config),
        *check_barge_in(config),
        check_voice(config),
        check_journal(journal_path),
    ]


def check_devices(kind: str, wanted: str | int | None) -> Check:
    from assistant.speech.devices import find_device, list_devices
    from assistant.speech.mic import input_device

    name = "microphone" if kind == "input" else "speaker"
    try:  # the input as `duet run` finds it: a speaker's monitor is refused
        index, found = input_device(wanted) if kind == "input" else find_device(wanted, kind)  # type: ignore[arg-type]
    except (LookupError, DuetError) as err:
        advised = "config.yaml" in str(err) or not _listed(kind)  # said so, or no device to name
        return Check(name, False, str(err) if advised else f"{err}; set listening.{kind}_device in config.yaml")
    others = len(list_devices(kind)) - 1  # type: ignore[arg-type]
    return Check(name, True, f"{found} (device {index}; {others} other{'s' * (others != 1)})")


def _listed(kind: str) -> bool:
    """Whether PortAudio lists any device of ``kind`` (else the config has none to name)."""
    from assistant.speech.devices import list_devices

    try:
        return bool(list_devices(kind))  # type: ignore[arg-type]
    except LookupError:
        return False


def check_level(config: Config) -> Check:
    """Listen for a few seconds: a dead-silent microphone is muted or unplugged."""
    from assistant.speech.mic import Microphone

    try:
        with Microphone(config.listening.input_device) as mic:
            chunks = []
            end = time.monotonic() + LEVEL_SECONDS
            while time.monotonic() < end:
                frame = mic.read(0.5)
                if frame is not None:
                    chunks.append(frame.pcm)
    except DuetError as err:
        return Check("input level", False, str(err))
    samples = np.frombuffer(b"".join(chunks), dtype=np.int16).astype(np.float64)
    if samples.size == 0:
        return Check("input level", False, "no audio arrived in 3 s: check the microphone's connection")
    peak = 20 * np.log10(max(np.abs(samples).max(), 1.0) / 32768.0)
    if peak < QUIET_DBFS:
        return Check("input level", False, f"peak {peak:.0f} dBFS in 3 s: silent; is the microphone muted?")
    return Check("input level", True, f"peak {peak:.0f} dBFS over 3 s")


def check_engines(config: Config) -> list[Check]:
    from assistant.speech.engines import describe_engines
    from assistant.speech.models import ModelError, check_vosk_model, find_vosk_model

    try:
        lines = describe_engines(config.speech.answers, config.speech.commands, config.speech.vosk_model)
    except DuetError as err:
        return [Check("speech", False, str(err))]
    try:  # vosk asked for by name needs its model (a QA pass's missing one was marked OK)
        vosk_ready = (path := find_vosk_model(config.speech.vosk_model)) is not None and bool(check_vosk_model(path))
    except ModelError:
        vosk_ready = False
    chosen = {"answers": config.speech.answers, "commands": config.speech.commands}
    return [Check(kind, vosk_ready or chosen.get(kind) != "vosk", line) for kind, line in lines]


WAKE_TRIALS = (("en-us+m3", "pause"), ("en-us+f3", "how much time is left"),
               ("gmw/en+m2", "take a note"), ("en-029+f4", "start the debrief"))
"""Commands said after the wake word, each in an espeak-ng voice, to check that it is heard."""
WAKE_EXAMPLE = "computer"
"""A wake word the built-in spotter hears (Moonshine writes it as it is spelled): after it, 28 of
28 clean commands in four espeak-ng voices were heard (25 without a wake word; scripts/spot_wake.py)."""


def check_wake_word(config: Config) -> list[Check]:
    """Whether the command spotter hears the configured wake word, said before a few commands.

    The spotter matches what the engine *wrote*, and Moonshine writes a word it does not know as
    words it does: "duet" comes out "You have", "Do it" or "You wait" (5 of 28 clean commands
    heard with it), and a session with it as the wake word would hear almost no command."""
    wake = config.listening.wake_word
    if not wake or config.speech.commands not in ("auto", "spotter"):
        return []
    from assistant.session.commands import CommandParser
    from assistant.speech.live import open_engines
    from assistant.speech.voice import Voice

    parser = CommandParser(config.commands, wake)
    try:
        spotter = open_engines(config).commands  # as `duet run` opens it
    except DuetError as err:
        return [Check("wake word", False, str(err))]
    heard, misses = 0, []
    for voice, command in WAKE_TRIALS:
        said = f"{wake}, {command}"
        transcript = spotter.transcribe(_as_heard(*Voice(voice).render(said)))
        got = parser.parse(transcript.text, require_wake_word=True)
        if got is not None and got == parser.parse(said, require_wake_word=True):
            heard += 1
        else:
            misses.append(f"{said!r} as {transcript.heard or transcript.text!r}")
    detail = f"{wake!r}: {heard} of {len(WAKE_TRIALS)} test commands heard"
    if heard == len(WAKE_TRIALS):
        return [Check("wake word", True, detail)]
    return [Check("wake word", False, f"{detail} ({'; '.join(misses[:2])}): choose a common word the recognizer "
                  f"writes as it is spelled, e.g. {WAKE_EXAMPLE!r}, in listening.wake_word")]


def check_barge_in(config: Config) -> list[Check]:
    """With ``barge_in: auto``, whether the echo canceller it needs can be had here: without it
    Duet waits out every prompt, as with ``off``, and says so only at ``-v``. Nothing is loaded."""
    listening = config.listening
    if listening.barge_in != "auto":
        return []
    from assistant.speech.echo import EchoCanceller
    from assistant.speech.live import devices_bypass_echo

    advice = "Duet will wait out every prompt: set listening.barge_in to off, or to on with a headset"
    if devices_bypass_echo(listening):
        return [Check("barge-in", False, f"echo cancellation needs the default microphone and speaker; {advice}")]
    if reason := EchoCanceller.unavailable():
        return [Check("barge-in", False, f"no echo cancellation: {reason}; {advice}")]
    return [Check("barge-in", True, "auto: echo cancellation between the default microphone and speaker")]


def _as_heard(samples: np.ndarray, rate: int) -> bytes:
    """Rendered int16 speech as the microphone gives it: 16 kHz PCM, 0.3 s of silence each side."""
    import soxr

    from assistant.speech.asr import SAMPLE_RATE
    from assistant.speech.wav import float_to_pcm

    speech = soxr.resample(np.asarray(samples, dtype=np.float32) / 32768.0, rate, SAMPLE_RATE)
    pad = np.zeros(int(0.3 * SAMPLE_RATE), dtype=np.float32)
    return float_to_pcm(np.concatenate([pad, speech, pad]))


def check_voice(config: Config) -> Check:
    from assistant.speech.voice import Voice, unknown_voice

    started = time.monotonic()
    try:
        if config.voice.name and (missing := unknown_voice(config.voice.name)):
            return Check("voice", False, f"{config.voice.name}: espeak-ng has {missing} and would speak in its "
                         "default voice; pick one of espeak-ng --voices=en (a variant from --voices=variant)")
        samples, rate = Voice(config.voice.name, rate=config.voice.rate, volume=config.voice.volume).render("Hello")
    except DuetError as err:
        return Check("voice", False, f"{err}; install espeak-ng (apt-get install espeak-ng)")
    took = time.monotonic() - started
    return Check("voice", True, f"{config.voice.name or 'default voice'} ({len(samples) / rate:.1f} s of speech rendered in {took:.1f} s)")


def check_journal(path: Path) -> Check:
    """Whether sessions can be kept at ``path``: a journal Duet reads (or none yet) in a folder it
    can write, private. Its kind and contents come first, its mode last: a QA pass was told
    "chmod 600" for a folder, and for a damaged file whose damage showed only after the chmod; and
    "OK" for a journal on a read-only disk, which the first session then could not write."""
    from assistant.journal import Journal

    if path.is_dir():
        return Check("journal", False, f"{path} is a folder, not a file: pass a file path with --journal")
    if not path.exists():
        unwritable = _cannot_write_in(path.parent)
        if unwritable:
            return Check("journal", False, unwritable)
        return Check("journal", True, f"{path} (created at the first session, private: 0600)")
    try:
        with Journal(path) as journal:
            count = len(journal.list_sessions())
            lost = journal.lost_sessions()
    except DuetError as err:
        return Check("journal", False, str(err))
    except OSError as err:
        return Check("journal", False, str(os_error(err)))
    if lost:
        return Check("journal", False, f"the file of session{'s' * (len(lost) > 1)} {', '.join(map(str, lost))} "
                     f"is missing from {journal.folder}: put back a copy if you have one, or `duet forget` "
                     f"{'them' if len(lost) > 1 else 'it'}")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        return Check("journal", False, f"{path} is readable by others (mode {mode:o}): chmod 600 '{path}'")
    unwritable = _cannot_write_in(path.parent)
    if unwritable:
        return Check("journal", False, unwritable)
    return Check("journal", True, f"{path} ({count} session{'s' * (count != 1)}, mode 600)")


def _cannot_write_in(folder: Path) -> str | None:
    """Why no file can be made in ``folder`` (or the nearest folder above it that exists, where
    it would be made), or None when one can: a file is made there and removed again."""
    import tempfile

    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"cannot make the journal's folder {folder}: {existing} is not a folder; choose another journal with --journal"
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".duet-doctor-"):
            pass
        if existing != folder:  # the folders in between are made by the first session: can they be?
            with tempfile.TemporaryDirectory(dir=existing, prefix=".duet-doctor-"):
                pass
    except OSError as err:  # named by the journal's folder, not the trial file's
        return str(os_error(OSError(err.errno, err.strerror, str(folder))))
    return None
