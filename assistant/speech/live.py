"""The live port: the engine's mouth and ears on a real microphone and speaker.

Duet speaks each prompt to the end (``Speaker.play`` blocks) and mutes the microphone until a
short tail after, so it never answers itself. Answers go to the free-form engine, commands
during the work phase to the grammar engine, both behind the voice-activity gate in
``listener.py``. A microphone that disappears becomes a ``MicrophoneLost`` event (the engine
pauses); the port then waits for it to come back.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import Callable

import click

from assistant.config import Config
from assistant.session.clock import MonotonicClock
from assistant.session.commands import work_grammar
from assistant.session.events import (
    Event,
    Heard,
    ListenForAnswer,
    ListenForCommands,
    MicrophoneBack,
    MicrophoneLost,
    Silence,
    Tick,
)
from assistant.speech.asr import Recognizer, Transcript
from assistant.speech.listener import Listener
from assistant.speech.mic import Microphone
from assistant.speech.mic import MicrophoneLost as MicLostError
from assistant.speech.voice import NoSpeaker, Speaker, Voice, VoiceError

log = logging.getLogger(__name__)

LONG_WAIT = 3600.0
"""How long to listen for a command when the engine has nothing of its own to do (paused)."""
RETRY_MIC = 1.0
"""Seconds between attempts to reopen a lost microphone."""


@dataclass
class Engines:
    """The two recognizers a live session uses."""

    answers: Recognizer
    """Free-form dictation of answers and notes."""
    commands: Recognizer
    """Grammar-restricted spotting of the command phrases."""


def open_engines(config: Config, answers: str | None = None, commands: str | None = None) -> Engines:
    """Load both engines once per run (model loading is the slow part)."""
    from assistant.speech.engines import open_recognizer

    grammar = work_grammar(config.commands, config.listening.wake_word)
    speech = config.speech
    answer_engine = open_recognizer(answers or speech.answers, vosk_model=speech.vosk_model,
                                    threads=speech.threads)
    wanted = commands or speech.commands
    if wanted in ("auto", "spotter"):
        return Engines(answers=answer_engine, commands=open_spotter(config, answer_engine))
    return Engines(answers=answer_engine, commands=open_recognizer(
        wanted, grammar=grammar, vosk_model=speech.vosk_model, threads=speech.threads))


def open_spotter(config: Config, answers: Recognizer | None = None) -> Recognizer:
    """The built-in command spotter, warmed up. It shares the answer engine's model when that is
    one it runs on (Moonshine or Whisper): one model in memory, not two."""
    from assistant.session.commands import CommandParser
    from assistant.speech.spotter import CommandSpotter, command_table

    wake = config.listening.wake_word
    table = command_table(CommandParser(config.commands, wake), work_grammar(config.commands, wake))
    spotter = CommandSpotter(table, threads=config.speech.threads, shared=answers)
    spotter.warm()
    return spotter


class LivePort:
    """A ``runner.Port`` on real audio."""

    def __init__(
        self,
        voice: Voice,
        speaker: Speaker | None,
        mic: Microphone,
        listener: Listener,
        *,
        mute_tail: float = 0.3,
        show: Callable[[str], None] = click.echo,
        partial: Callable[[str], None] | None = None,
    ) -> None:
        self.voice = voice
        self.speaker = speaker
        self.mic = mic
        self.listener = listener
        self.mute_tail = mute_tail
        self.show = show
        self.partial = partial
        self.mic_lost = False
        self._partner = "you"

    def say(self, text: str) -> None:
        self.show(f"Duet: {text}")
        if self.speaker is None:
            return
        try:
            samples, rate = self.voice.render(text)
            finished = self.speaker.play(samples, rate)
        except (NoSpeaker, VoiceError) as err:
            log.warning("%s; prompts are printed from now on", err)
            self.show(f"(no sound: {err}; prompts are printed from now on)")
            self.speaker = None
            return
        self.mic.mute_until(finished + self.mute_tail)

    def listen_answer(self, action: ListenForAnswer) -> Event:
        if self.mic_lost:
            return self._wait_for_mic()
        self._partner = action.partner or "note"
        if self.speaker is not None and action.ahead:
            self.voice.prefetch(action.ahead)  # rendered while the partner speaks
        try:
            transcript = self.listener.capture_answer(action.timeout, on_partial=self.partial)
        except MicLostError as err:
            return self._lost(err)
        if transcript is None:
            self.show(f"{self._partner}: (no answer)")
            return Silence()
        self.show(f"{self._partner}: {transcript.text}")
        return heard(transcript)

    def listen_commands(self, action: ListenForCommands) -> Event:
        if self.mic_lost:
            return self._wait_for_mic()
        until = action.until if action.until is not None else time.monotonic() + LONG_WAIT
        try:
            transcript = self.listener.next_command(until, expected=action.awaited)
        except MicLostError as err:
            return self._lost(err)
        if transcript is None:
            return Tick()
        if transcript.heard:
            self.show(f"(command: {transcript.text!r}, heard: {transcript.heard!r})")
        else:
            self.show(f"(heard: {transcript.text})")
        return heard(transcript)

    def _lost(self, err: MicLostError) -> Event:
        self.mic_lost = True
        log.warning("%s", err)
        return MicrophoneLost()

    def _wait_for_mic(self) -> Event:
        """Block until the microphone works again (Ctrl-C saves and exits)."""
        self.show("(waiting for the microphone to come back; Ctrl-C saves and exits)")
        last = ""
        while True:
            try:
                self.mic.reopen()
            except MicLostError as err:
                if str(err) != last:
                    last = str(err)
                    log.warning("still no microphone: %s", err)
                time.sleep(RETRY_MIC)
                continue
            self.mic_lost = False
            return MicrophoneBack()


def heard(transcript: Transcript) -> Heard:
    words = tuple(
        {"text": w.text, "start": round(w.start, 3), "end": round(w.end, 3), "confidence": w.confidence}
        for w in transcript.words
    )
    return Heard(text=transcript.text, confidence=transcript.confidence, words=words)


def open_speaker(config: Config) -> Speaker | None:
    """The configured speaker, or None (prompts printed) when there is none."""
    try:
        return Speaker(config.listening.output_device)
    except NoSpeaker as err:
        log.warning("%s", err)
        click.echo(f"duet: {err}; prompts will be printed instead of spoken", err=True)
        return None


def live_port(config: Config, engines: Engines | None = None) -> tuple[MonotonicClock, LivePort]:
    """Open microphone, speaker, voice and engines for a live session."""
    if engines is None:
        from assistant.speech.engines import describe_engines

        speech = config.speech
        for role, line in describe_engines(speech.answers, speech.commands, speech.vosk_model):
            click.echo(f"{role}: {line}", err=True)  # stdout stays clean for --json
        engines = open_engines(config)
    listening = config.listening
    mic = Microphone(listening.input_device)
    mic.open()
    listener = Listener.from_config(mic, engines.answers, engines.commands, listening)
    voice = Voice(config.voice.name, rate=config.voice.rate, volume=config.voice.volume)
    port = LivePort(
        voice, open_speaker(config), mic, listener, mute_tail=listening.mute_tail, partial=_show_partial()
    )
    return MonotonicClock(), port


def _show_partial() -> Callable[[str], None] | None:
    """Partial transcripts on one rewritten terminal line (only on a terminal)."""
    if not sys.stderr.isatty():
        return None

    def show(text: str) -> None:
        sys.stderr.write("\r\033[K... " + text[-70:])
        sys.stderr.flush()

    return show
