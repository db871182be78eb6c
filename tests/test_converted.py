"""The cache of converted models keeps only the copies some install will use again.

Each Duet install names its converted copy after the shipped model it came from, so an upgrade
or a new virtual environment makes a new copy (about 124 MB for both engines); the old one must
go. Real folders in a temporary cache; the conversions themselves are tested with the engines
(test_asr_moonshine.py), so the copies here are made by hand: the pruning does not read them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from assistant.speech.converted import MADE_FROM, UNRECORDED_AGE
from assistant.speech.whisper_int8 import copy_name, int8_model_dir


def shipped(folder: Path, weights: bytes = b"weights") -> Path:
    """A shipped model folder (only ``model.bin`` names the copy)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.bin").write_bytes(weights)
    return folder


def converted(source: Path, root: Path) -> Path:
    """The copy a conversion of ``source`` would have made."""
    copy = copy_name(source, root)
    copy.mkdir(parents=True)
    (copy / "model.bin").write_bytes(b"int8")
    return copy


def aged(path: Path, seconds: float) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_an_upgraded_model_leaves_no_copy_behind(tmp_path: Path) -> None:
    root, source = tmp_path / "cache", shipped(tmp_path / "venv" / "model")
    old = converted(source, root)
    assert int8_model_dir(source, root=root) == old
    assert (old / MADE_FROM).read_text().strip() == str(source.resolve())

    shipped(source, b"new weights")  # pip install -U: the same path, other files
    new = converted(source, root)
    assert int8_model_dir(source, root=root) == new
    assert not old.exists() and new.is_dir()


def test_copies_of_other_installs_stay_until_their_model_is_gone(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    mine, theirs = shipped(tmp_path / "a" / "model"), shipped(tmp_path / "b" / "model")
    their_copy = converted(theirs, root)
    assert int8_model_dir(theirs, root=root) == their_copy
    my_copy = converted(mine, root)

    assert int8_model_dir(mine, root=root) == my_copy
    assert their_copy.is_dir()  # the other install still uses it

    (theirs / "model.bin").unlink()  # its virtual environment was removed
    assert int8_model_dir(mine, root=root) == my_copy
    assert not their_copy.exists() and my_copy.is_dir()


def test_unrecorded_copies_go_only_when_old(tmp_path: Path) -> None:
    root, source = tmp_path / "cache", shipped(tmp_path / "model")
    copy = converted(source, root)
    stem = copy.name.rsplit("-", 1)[0]
    before_markers = aged(converted(shipped(tmp_path / "old" / "model"), root), UNRECORDED_AGE + 60)
    half_done = root / f"{stem}-0123456789ab.x1y2"  # a conversion that crashed
    finishing = root / f"{stem}-ba9876543210.k3j4"  # another process converting right now
    other_kind = root / "moonshine-base-en-onnx-0123456789ab"
    unrelated = root / f"{stem}-notes"
    for folder in (half_done, finishing, other_kind, unrelated):
        folder.mkdir()
    for folder in (half_done, other_kind, unrelated):
        aged(folder, UNRECORDED_AGE + 60)

    assert int8_model_dir(source, root=root) == copy
    assert not before_markers.exists() and not half_done.exists()
    assert finishing.is_dir() and other_kind.is_dir() and unrelated.is_dir() and copy.is_dir()


def test_a_cache_that_cannot_be_tidied_still_gives_its_copy(tmp_path: Path, caplog) -> None:
    root, source = tmp_path / "cache", shipped(tmp_path / "model")
    copy = converted(source, root)
    (copy / MADE_FROM).mkdir()  # the record cannot be written (as root too)
    assert int8_model_dir(source, root=root) == copy
    assert "could not tidy the model cache" in caplog.text
