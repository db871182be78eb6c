"""No network: Duet never opens a socket to anything but this machine.

Every Python process started by these tests (duet, and the children it starts) imports a
``sitecustomize`` that installs an audit hook: a connection, datagram or name lookup for any
address other than loopback or a Unix socket is refused and written to a log, which must stay
empty. A self-test proves the guard does catch real network code.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import SCRIPT
from tests.rig import ROOT

GUARD = textwrap.dedent('''
    import os, sys

    _LOG = os.environ["DUET_NET_LOG"]
    _LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::", "", None}

    def _local(host):
        if isinstance(host, bytes):
            host = host.decode(errors="replace")
        return host in _LOCAL_HOSTS or (isinstance(host, str) and host.startswith("127."))

    def _refuse(event, what):
        with open(_LOG, "a") as log:
            log.write(f"{os.getpid()} {event} {what!r}\\n")
        raise ConnectionRefusedError(f"network refused by the test guard: {event} {what!r}")

    def _hook(event, args):
        if event in ("socket.connect", "socket.sendto", "socket.sendmsg", "socket.bind"):
            address = args[1] if len(args) > 1 else None
            if isinstance(address, tuple) and not _local(address[0]):
                _refuse(event, address)
        elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                       "socket.gethostbyaddr"):
            if not _local(args[0]):
                _refuse(event, args[0])

    sys.addaudithook(_hook)
''')

NETWORK_MODULES = {"socket", "ssl", "urllib", "http", "requests", "httpx", "aiohttp", "urllib3", "ftplib",
                   "smtplib", "xmlrpc", "websocket", "websockets", "huggingface_hub", "asyncio"}
ALLOWED = {Path("scripts/download_model.py")}
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")



@pytest.fixture
def guarded(tmp_path: Path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "network.log"
    log.touch()
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}", "DUET_NET_LOG": str(log),
           "HF_HUB_OFFLINE": "", "no_proxy": "", "NO_PROXY": ""}

    def run(*args: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=env,
                              timeout=120, **kw)

    run.log = log
    return run


def test_the_guard_catches_real_network_code(guarded):
    result = guarded("-c", "import urllib.request; urllib.request.urlopen('http://example.com/', timeout=2)")
    assert result.returncode != 0 and "network refused by the test guard" in result.stderr
    result = guarded("-c", "import socket; socket.create_connection(('10.1.2.3', 80), timeout=2)")
    assert result.returncode != 0
    attempts = guarded.log.read_text()
    assert "example.com" in attempts and "10.1.2.3" in attempts
    local = guarded("-c", "import socket; s = socket.socket(socket.AF_UNIX); s.connect_ex('/nonexistent')")
    assert local.returncode == 0 and len(guarded.log.read_text().splitlines()) == 2


def test_a_whole_rehearsed_session_and_the_data_commands_use_no_network(guarded, tmp_path):
    journal = str(tmp_path / "j" / "journal.json")
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    steps = [
        ["rehearse", str(script), "--journal", journal],
        ["sessions", "--journal", journal, "--json"],
        ["show", "last", "--journal", journal],
        ["export", "last", "--format", "html", "-o", str(tmp_path / "s.html"), "--journal", journal],
        ["rehearse", str(script), "--journal", journal, "--work", "1"],
        ["forget", "1", "--yes", "--journal", journal],
        ["schedule", "add", "saturday 10:00", "--every", "week", "--journal", journal],
        ["schedule", "export", "-o", str(tmp_path / "plan.ics"), "--journal", journal],
    ]
    for args in steps:
        result = guarded("-m", "assistant", *args)
        assert result.returncode == 0, (args, result.stderr)
    assert json.loads(guarded("-m", "assistant", "sessions", "--json", "--journal", journal).stdout)[0]["id"] == 2
    assert guarded.log.read_text() == ""


def test_transcribing_with_the_built_in_engines_uses_no_network(guarded, tmp_path):
    wav = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav"  # "he was not an ill disposed young man"
    if not wav.exists():
        pytest.skip("Debian's pocketsphinx-testdata is not installed (scripts/setup.sh --test)")
    for engine in ("pocketsphinx", "whisper"):
        result = guarded("-m", "assistant", "transcribe", str(wav), "--engine", engine)
        assert result.returncode == 0, result.stderr
        assert "young man" in result.stdout.lower(), result.stdout
    assert guarded.log.read_text() == ""


def test_the_download_script_talks_only_when_asked(guarded):
    for args in (["--help"], ["--list"]):
        assert guarded("scripts/download_model.py", *args).returncode == 0
    assert guarded.log.read_text() == ""
    asked = guarded("scripts/download_model.py", "vosk-model-small-en-us-0.15", "--models-dir", "/nonexistent/models")
    assert asked.returncode != 0 and "alphacephei.com" in guarded.log.read_text()  # it does try, when asked


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_download_script_imports_network_code():
    sources = sorted([*ROOT.glob("assistant/**/*.py"), *ROOT.glob("scripts/**/*.py")])
    assert Path(ROOT / "assistant" / "cli" / "main.py") in sources
    offenders = {str(p.relative_to(ROOT)): sorted(_imports(p) & NETWORK_MODULES) for p in sources
                 if p.relative_to(ROOT) not in ALLOWED and _imports(p) & NETWORK_MODULES}
    assert offenders == {}
    assert {"urllib", "http"} <= _imports(ROOT / "scripts" / "download_model.py")
