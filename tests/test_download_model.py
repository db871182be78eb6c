"""Tests for scripts/download_model.py over real HTTP on loopback (no outside network).

A ThreadingHTTPServer on 127.0.0.1:0 serves a small zip shaped like a vosk model; its handler
supports Range and can be told to drop the connection halfway or to ignore Range, and records
every request so tests can check what was actually asked for.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import re
import socket
import subprocess
import sys
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "download_model.py"
NAME = "vosk-model-test-0.1"


def _load_module():
    """Import the script by path: scripts/ is not a package."""
    spec = importlib.util.spec_from_file_location("download_model", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["download_model"] = module  # dataclasses look the module up here
    spec.loader.exec_module(module)
    return module


dm = _load_module()


# --- fixtures ---------------------------------------------------------------------------------


def make_model_zip(top: str | None = NAME, extra: dict[str, bytes] | None = None) -> bytes:
    """A zip laid out like a vosk model; ``top=None`` puts the files at the archive's top level.

    ``extra`` entries are added under their raw names (so they can try to escape).
    """
    files = {
        "am/final.mdl": os.urandom(300_000),  # random + stored: the zip stays ~300 KB
        "conf/model.conf": b"--sample-frequency=16000\n",
        "graph/phones/word_boundary.int": b"1 nonword\n",
        "README": b"test model\n",
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for rel, data in files.items():
            zf.writestr(f"{top}/{rel}" if top else rel, data)
        for raw, data in (extra or {}).items():
            zf.writestr(raw, data)
    return buf.getvalue()


@dataclass
class Served:
    """State shared between a test and its server's handler."""

    payload: bytes
    path: str
    mode: str = "range"  # "range", "ignore-range" or "drop"
    drops_left: int = 1
    requests: list[dict] = field(default_factory=list)
    base_url: str = ""

    def sha256(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()


class Handler(BaseHTTPRequestHandler):
    """Serves ``Served.payload`` at ``Served.path`` with optional Range support or faults."""

    def log_message(self, fmt: str, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        served = self.server.served  # type: ignore[attr-defined]
        record = {"path": self.path, "range": self.headers.get("Range"), "sent": 0}
        served.requests.append(record)
        if self.path != served.path:
            self.send_error(404)
            return
        data, start = served.payload, 0
        wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if wanted and served.mode != "ignore-range":
            start = int(wanted.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if served.mode == "drop" and served.drops_left > 0:
            served.drops_left -= 1
            body = body[: len(body) // 2]  # then the connection closes: a broken download
        record["sent"] = len(body)  # before writing: the client may finish reading before we return
        self.wfile.write(body)


@pytest.fixture
def serve() -> Iterator:
    """Start a loopback server for a payload; returns a function (payload, mode) -> Served."""
    servers: list[ThreadingHTTPServer] = []

    def start(payload: bytes, mode: str = "range", name: str = NAME) -> Served:
        served = Served(payload=payload, path=f"/models/{name}.zip", mode=mode)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.served = served  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        servers.append(server)
        served.base_url = f"http://127.0.0.1:{server.server_address[1]}/models/"
        return served

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Automatic resumption waits between attempts; tests need not."""
    monkeypatch.setattr(dm, "RETRY_DELAY", 0.0)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """Run the script as a user would, to see real exit codes and stderr."""
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=60)


def leftovers(models: Path) -> list[str]:
    """Anything in models/ besides installed models: parts, staging dirs."""
    return sorted(p.name for p in models.iterdir() if p.name.startswith("."))


# --- tests ------------------------------------------------------------------------------------


def test_full_download_verifies_and_unpacks(serve, tmp_path: Path) -> None:
    served = serve(make_model_zip())
    models = tmp_path / "models"
    code = dm.main([NAME, "--url", served.base_url, "--sha256", served.sha256(),
                    "--size", str(len(served.payload)), "--models-dir", str(models)])
    assert code == 0
    assert dm.looks_complete(models / NAME)
    assert (models / NAME / "README").read_bytes() == b"test model\n"
    assert leftovers(models) == []
    assert [r["range"] for r in served.requests] == [None]


def test_flat_zip_unpacks_into_name(tmp_path: Path) -> None:
    archive = tmp_path / "flat.zip"
    archive.write_bytes(make_model_zip(top=None))
    target = dm.unpack(archive, tmp_path, NAME)
    assert target == tmp_path / NAME and dm.looks_complete(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flat.zip", NAME]


def test_checksum_mismatch_exits_1_and_unpacks_nothing(serve, tmp_path: Path) -> None:
    served = serve(make_model_zip())
    models = tmp_path / "models"
    result = run_cli(NAME, "--url", served.base_url, "--sha256", "0" * 64,
                     "--models-dir", str(models))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: SHA-256 mismatch"), result.stderr
    assert "Traceback" not in result.stderr
    assert list(models.iterdir()) == []


def test_catalogue_size_is_enforced_without_flags(serve, tmp_path: Path) -> None:
    """A known name gets the catalogue's size/SHA-256: a wrong file is refused before reading it."""
    name = "vosk-model-small-en-us-0.15"
    served = serve(make_model_zip(top=name), name=name)
    models = tmp_path / "models"
    code = dm.main([name, "--url", served.base_url, "--models-dir", str(models)])
    assert code == 1
    assert list(models.iterdir()) == []


def test_resume_after_dropped_connection_fetches_only_the_rest(serve, tmp_path: Path) -> None:
    served = serve(make_model_zip(), mode="drop")
    part = tmp_path / f".{NAME}.zip.part"
    url = dm.model_url(served.base_url, NAME)
    size = len(served.payload)
    with pytest.raises(dm.DownloadInterrupted):
        dm.download(url, part, size, progress=False)
    kept = part.stat().st_size
    assert kept == size // 2

    assert dm.download(url, part, size, progress=False) == size
    assert served.requests[-1]["range"] == f"bytes={kept}-"
    assert served.requests[-1]["sent"] == size - kept
    assert dm.verify(part, served.sha256(), size) is True


def test_cli_resumes_a_drop_by_itself(serve, tmp_path: Path) -> None:
    served = serve(make_model_zip(), mode="drop")
    models = tmp_path / "models"
    code = dm.main([NAME, "--url", served.base_url, "--sha256", served.sha256(),
                    "--models-dir", str(models)])
    assert code == 0 and dm.looks_complete(models / NAME)
    assert [r["range"] for r in served.requests] == [None, f"bytes={len(served.payload) // 2}-"]


def test_server_ignoring_range_starts_over(serve, tmp_path: Path) -> None:
    served = serve(make_model_zip(), mode="ignore-range")
    part = tmp_path / f".{NAME}.zip.part"
    part.write_bytes(b"junk that must not survive" * 100)
    size = dm.download(dm.model_url(served.base_url, NAME), part, None, progress=False)
    assert served.requests[0]["range"] == f"bytes={26 * 100}-"
    assert size == len(served.payload)
    assert dm.verify(part, served.sha256(), len(served.payload)) is True


def test_416_on_complete_part_is_not_downloaded_again(serve, tmp_path: Path) -> None:
    served = serve(make_model_zip())
    part = tmp_path / f".{NAME}.zip.part"
    part.write_bytes(served.payload)
    assert dm.download(dm.model_url(served.base_url, NAME), part, None, progress=False) \
        == len(served.payload)
    assert [r["sent"] for r in served.requests] == [0]
    assert dm.verify(part, served.sha256(), None) is True


def test_416_on_oversized_part_starts_over(serve, tmp_path: Path) -> None:
    served = serve(make_model_zip())
    part = tmp_path / f".{NAME}.zip.part"
    part.write_bytes(b"x" * (len(served.payload) + 10))
    dm.download(dm.model_url(served.base_url, NAME), part, None, progress=False)
    assert [r["range"] for r in served.requests][1] is None
    assert part.read_bytes() == served.payload


@pytest.mark.parametrize("evil", ["../evil.txt", "/tmp/evil.txt", f"{NAME}/../../evil.txt"])
def test_zip_slip_is_rejected(tmp_path: Path, evil: str) -> None:
    models = tmp_path / "a" / "models"
    models.mkdir(parents=True)
    archive = tmp_path / "evil.zip"
    archive.write_bytes(make_model_zip(extra={evil: b"pwned"}))
    with pytest.raises(dm.ArchiveError, match="unsafe path"):
        dm.unpack(archive, models, NAME)
    assert list(models.iterdir()) == []
    assert not list(tmp_path.rglob("evil.txt"))


def test_corrupt_zip_fails_testzip(tmp_path: Path) -> None:
    data = bytearray(make_model_zip())
    data[1000] ^= 0xFF  # inside am/final.mdl's stored bytes: CRC no longer matches
    archive = tmp_path / "bad.zip"
    archive.write_bytes(bytes(data))
    with pytest.raises(dm.ArchiveError, match="corrupt"):
        dm.unpack(archive, tmp_path, NAME)
    assert not (tmp_path / NAME).exists()


def test_existing_complete_model_is_not_downloaded_again(serve, tmp_path: Path, capsys) -> None:
    served = serve(make_model_zip())
    models = tmp_path / "models"
    for marker in dm.MARKER_FILES:
        (models / NAME / marker).parent.mkdir(parents=True, exist_ok=True)
        (models / NAME / marker).write_text("old")
    assert dm.main([NAME, "--url", served.base_url, "--models-dir", str(models)]) == 0
    assert "already installed" in capsys.readouterr().out
    assert served.requests == []

    assert dm.main([NAME, "--url", served.base_url, "--models-dir", str(models), "--force",
                    "--sha256", served.sha256()]) == 0
    assert len(served.requests) == 1
    assert (models / NAME / "README").exists()
    assert (models / NAME / "conf" / "model.conf").read_text() != "old"
    assert leftovers(models) == []


def test_404_gives_one_line_error(serve, tmp_path: Path) -> None:
    served = serve(make_model_zip())
    result = run_cli("vosk-model-missing-0.1", "--url", served.base_url,
                     "--models-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and "404" in result.stderr
    assert result.stdout == ""


def test_unreachable_server_gives_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_cli(NAME, "--url", f"http://127.0.0.1:{port}/", "--models-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: cannot reach")


def test_unverified_download_says_so(serve, tmp_path: Path, capsys) -> None:
    served = serve(make_model_zip())
    assert dm.main([NAME, "--url", served.base_url, "--models-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "NOT verified" in captured.err and "NOT verified" in captured.out


@pytest.mark.parametrize("args", [[], ["../escape"], [NAME, "--sha256", "abc"],
                                  [NAME, "--size", "-1"], [NAME, "--url", "file:///etc/"]])
def test_usage_errors_exit_2(args: list[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        dm.main([*args, "--models-dir", str(tmp_path)])
    assert exc.value.code == 2


def test_list_shows_catalogue(capsys) -> None:
    assert dm.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "vosk-model-small-en-us-0.15" in out and "vosk-model-en-us-0.22-lgraph" in out


def test_catalogue_entries_are_well_formed() -> None:
    for name, info in dm.CATALOGUE.items():
        assert info.name == name
        assert info.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", info.sha256)
        assert info.size is None or info.size > 0


def test_interrupted_run_keeps_part_and_says_how_to_resume(serve, tmp_path: Path) -> None:
    served = serve(make_model_zip(), mode="drop")
    served.drops_left = dm.ATTEMPTS  # every attempt of this run breaks
    code = dm.main([NAME, "--url", served.base_url, "--models-dir", str(tmp_path)])
    assert code == 1
    assert len(served.requests) == dm.ATTEMPTS
    kept = (tmp_path / f".{NAME}.zip.part").stat().st_size
    assert 0 < kept < len(served.payload)
    assert not (tmp_path / NAME).exists()

    served.drops_left = 0  # the next run resumes and completes
    assert dm.main([NAME, "--url", served.base_url, "--models-dir", str(tmp_path),
                    "--sha256", served.sha256()]) == 0
    assert served.requests[-1]["range"] == f"bytes={kept}-"
    assert served.requests[-1]["sent"] == len(served.payload) - kept
    assert dm.looks_complete(tmp_path / NAME)


def test_incomplete_existing_dir_needs_force(tmp_path: Path, capsys) -> None:
    (tmp_path / NAME).mkdir()
    assert dm.main([NAME, "--url", "http://127.0.0.1:9/", "--models-dir", str(tmp_path)]) == 1
    assert "--force" in capsys.readouterr().err


def test_disk_error_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run_cli(NAME, "--url", "http://127.0.0.1:9/", "--models-dir", str(blocker / "models"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: disk error")
