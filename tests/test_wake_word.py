"""A wake word with the built-in spotter: a command must start with it, and ``duet doctor`` tells
a wake word the recognizer cannot hear (real Moonshine, real espeak-ng voices)."""

from pathlib import Path

from assistant.cli.doctor import check_wake_word
from assistant.config import CommandsConfig
from assistant.session.commands import CommandParser, work_grammar
from assistant.speech.spotter import CommandSpotter, command_table
from assistant.speech.wav import read_wav
from tests.helpers import config
from tests.partner import espeak


def test_doctor_tells_a_wake_word_the_spotter_cannot_hear():
    # Moonshine writes "duet" as words it knows ("You have", "Do it"): commands after it are lost
    unheard = check_wake_word(config(listening={"wake_word": "duet"}))
    assert len(unheard) == 1 and not unheard[0].ok, unheard
    assert "computer" in unheard[0].detail, "the advice names a word that works"
    heard = check_wake_word(config(listening={"wake_word": "computer"}))
    assert heard[0].ok, heard[0].detail


def test_without_a_wake_word_nothing_is_checked():
    assert check_wake_word(config()) == []


def test_with_a_wake_word_a_command_needs_it(tmp_path: Path):
    parser = CommandParser(CommandsConfig(), "computer")
    spotter = CommandSpotter(command_table(parser, work_grammar(CommandsConfig(), "computer")))

    def heard(text: str, voice: str):
        pcm = read_wav(espeak(text, voice, tmp_path / "said.wav"))
        return parser.parse(spotter.transcribe(pcm).text, require_wake_word=True)

    for voice in ("en-us+f5", "en+m4"):  # voices the checks in duet doctor do not use
        assert heard("computer, add ten minutes", voice) == parser.parse("computer add ten minutes",
                                                                         require_wake_word=True), voice
        assert heard("add ten minutes", voice) is None, voice
