"""Moonshine base English behind the recognizer seam, run by onnxruntime on real recorded speech.

The package's own C library needs AVX-512; onnxruntime runs the same weights on any x86-64 CPU
once moonshine_onnx.py has converted them (cached). Both the converted and the shipped graphs are
tested here: the shipped ones are the fallback when the conversion fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.speech.asr_moonshine import MoonshineRecognizer, bundled_model_dir, read_tokenizer
from assistant.speech.engines import open_recognizer
from assistant.speech.models import ModelError
from assistant.speech.moonshine_onnx import MIN_QUANTIZED, converted_dir
from assistant.speech.wav import read_wav
from assistant.speech.wer import corpus_wer
from tests import helpers

SOMETHING = Path("/usr/share/pocketsphinx/test/data/something.raw")


@pytest.fixture(scope="module")
def moonshine() -> MoonshineRecognizer:
    recognizer = open_recognizer("moonshine")
    assert isinstance(recognizer, MoonshineRecognizer) and recognizer.converted
    return recognizer


def test_the_model_ships_with_the_package() -> None:
    folder = bundled_model_dir()
    assert all((folder / name).stat().st_size > 100_000 for name in ("encoder_model.ort", "decoder_model_merged.ort"))
    tokens = read_tokenizer(folder / "tokenizer.bin")
    assert len(tokens) == 32000 and tokens[1:3] == [b"<s>", b"</s>"]
    assert tokens[3] == b"\x00" and tokens[258] == b"\xff"  # the byte fallback


def test_librivox_word_error(moonshine: MoonshineRecognizer) -> None:
    pairs = helpers.librivox()
    hyps = [moonshine.transcribe(pcm) for pcm, _ in pairs]
    assert corpus_wer([(text, hyp.text) for (_, text), hyp in zip(pairs, hyps)]) <= 0.05
    assert all(0.5 < hyp.confidence <= 1.0 for hyp in hyps)  # clean read speech: confident


def test_a_short_real_recording_through_the_stream(moonshine: MoonshineRecognizer) -> None:
    stream = moonshine.stream()
    pcm = SOMETHING.read_bytes()
    for i in range(0, len(pcm), 3200):
        assert stream.accept(pcm[i:i + 3200]) is None
    heard = stream.finish()
    assert corpus_wer([("go somewhere and do something", heard.text)]) == 0.0
    assert heard.engine == "moonshine:base-en"


def test_silence_is_no_answer(moonshine: MoonshineRecognizer) -> None:
    assert moonshine.transcribe(b"\0\0" * 16000).text == ""
    assert moonshine.transcribe(b"\0\0" * 100).text == ""


def test_the_conversion_keeps_the_weights_int8(tmp_path: Path) -> None:
    import onnx

    folder = converted_dir(bundled_model_dir(), root=tmp_path)
    assert folder is not None and folder.parent == tmp_path
    assert converted_dir(bundled_model_dir(), root=tmp_path) == folder  # made once
    decoder = onnx.load(str(folder / "decoder_model_merged.onnx"))
    graphs = [decoder.graph] + [a.g for n in decoder.graph.node for a in n.attribute if a.type == a.GRAPH]
    floats = [i.name for g in graphs for i in g.initializer
              if i.data_type == onnx.TensorProto.FLOAT and len(i.dims) == 2 and min(i.dims) > 1
              and i.dims[0] * i.dims[1] >= MIN_QUANTIZED]
    assert floats == []  # every weight matrix is int8: the model stays small in memory
    import math

    weights = {i.name for g in graphs for i in g.initializer if math.prod(i.dims) >= MIN_QUANTIZED}
    nodes = [n for g in graphs for n in g.node]
    assert sum(n.op_type == "DynamicQuantizeMatMul" for n in nodes) > 100
    assert not [n.name for n in nodes if n.op_type == "MatMul" and set(n.input) & weights]
    assert sum(f.stat().st_size for f in folder.iterdir()) < 100_000_000


def test_the_shipped_graphs_give_the_same_words_when_the_conversion_is_unavailable() -> None:
    slow = MoonshineRecognizer(convert=False)
    assert not slow.converted
    pcm = read_wav(helpers.librivox_files()[1][0])  # "he was not an ill disposed young man"
    assert corpus_wer([("he was not an ill disposed young man", slow.transcribe(pcm).text)]) == 0.0


def test_a_failed_conversion_falls_back_with_a_warning(tmp_path: Path, caplog) -> None:
    broken = tmp_path / "base-en"
    broken.mkdir()
    for name in ("encoder_model.ort", "decoder_model_merged.ort", "tokenizer.bin"):
        (broken / name).write_bytes(b"not a model")
    assert converted_dir(broken, root=tmp_path / "cache") is None
    assert "could not convert the Moonshine model" in caplog.text
    with pytest.raises(ModelError) as err:
        MoonshineRecognizer(broken, convert=False)
    assert "\n" not in str(err.value) and "reinstall" in str(err.value)


def test_a_folder_without_the_model_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        MoonshineRecognizer(tmp_path)
    assert "\n" not in str(err.value) and "moonshine-cpp" in str(err.value)
