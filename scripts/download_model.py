#!/usr/bin/env python3
"""Download, verify and unpack a vosk speech model into the repository's ``models/`` folder.

Duet runs offline; this script is the one place in the project that touches the network, and it
does so only when a person runs it. Everything it installs is checked first (size, SHA-256 when
known, zip integrity, no paths escaping ``models/``) and moved into place with a single rename,
so the assistant never sees a half-downloaded or half-unpacked model.

Usage::

    python scripts/download_model.py vosk-model-small-en-us-0.15
    python scripts/download_model.py --list
    python scripts/download_model.py NAME [--url BASE] [--sha256 HEX] [--size BYTES]
                                          [--models-dir DIR] [--force] [-v]

Exit codes: 0 installed (or already there), 1 failure (one line on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import logging
import re
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Sequence

from tqdm import tqdm

log = logging.getLogger("download_model")

BASE_URL = "https://alphacephei.com/vosk/models/"
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
CHUNK = 64 * 1024
TIMEOUT = 30.0
ATTEMPTS = 3
"""Transfers interrupted mid-way are resumed this many times in one run before giving up."""
RETRY_DELAY = 2.0
MARKER_FILES = ("am/final.mdl", "conf/model.conf")
"""Files every vosk ASR model has: their presence is how we tell a complete model directory."""
MODEL_SUBDIRS = {"am", "conf", "graph", "ivector", "rescore", "rnnlm"}
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
HEX64_RE = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class ModelInfo:
    """A catalogue entry; ``size``/``sha256`` of the .zip are None when not known."""

    name: str
    size: int | None
    sha256: str | None
    description: str


# Known English models. The site publishes no SHA-256 (its model-list.json carries size and MD5
# only), so these SHA-256 values are the ones independently pinned by several public projects
# that downloaded the official archives (Yocto/AUR recipes and others), all agreeing; the sizes
# match model-list.json. They could not be recomputed from this offline machine.
# MAINTAINER: to add a model, download its .zip once, then record `sha256sum NAME.zip` and
# `stat -c %s NAME.zip` here; an entry with sha256=None/size=None still downloads, unverified.
CATALOGUE: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo(
            "vosk-model-small-en-us-0.15",
            41_205_931,
            "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
            "small US English, the default for Duet",
        ),
        ModelInfo(
            "vosk-model-en-us-0.22-lgraph",
            130_557_655,
            "d9838b4aaa82a75c4a17f5aca300eaca129aaab2a7cbf951bafbb500eb9c4334",
            "US English, dynamic graph: more accurate, still vocabulary-adaptable",
        ),
        ModelInfo(
            "vosk-model-en-us-0.22",
            1_913_365_522,
            "47f9a81ebb039dbb0bd319175c36ac393c0893b796c2b6303e64cf58c27b69f6",
            "big US English: server-class accuracy and memory use",
        ),
    )
}


class ModelError(Exception):
    """A failure reported to the user as one line (exit code 1), never as a traceback."""


class NetworkError(ModelError):
    """The server could not be reached or refused the request."""


class DownloadInterrupted(NetworkError):
    """The transfer stopped early; the partial file is kept so the next try resumes it."""


class VerificationError(ModelError):
    """The downloaded bytes are not the expected ones."""


class ArchiveError(ModelError):
    """The zip is corrupt, unsafe, or not a vosk model."""


class _StartOver(Exception):
    """Internal: the partial file cannot be resumed, download from byte 0."""


class _CompleteAlready(Exception):
    """Internal: the server confirms the partial file already holds the whole archive."""


# --- download ---------------------------------------------------------------------------------


def model_url(base: str, name: str) -> str:
    """Where ``name``.zip lives under ``base`` (a trailing slash on base is optional)."""
    return base.rstrip("/") + "/" + name + ".zip"


def _partial_size(path: Path) -> int:
    """Bytes already downloaded in a previous attempt (0 when there is none)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse:
    """Send the GET (with a Range header when resuming) and map failures to one-line errors."""
    headers = {"User-Agent": "duet-download-model/1"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    log.debug("GET %s %s", url, headers.get("Range", "(whole file)"))
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416:
            _handle_416(exc, offset)
        if exc.code == 404:
            raise NetworkError(f"no such model on the server: {url} (HTTP 404)") from None
        raise NetworkError(f"HTTP {exc.code} {exc.reason} for {url}") from None
    except urllib.error.URLError as exc:
        host = urllib.parse.urlsplit(url).netloc
        raise NetworkError(f"cannot reach {host}: {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadInterrupted(f"connection failed for {url}: {exc!r}") from None


def _handle_416(exc: urllib.error.HTTPError, offset: int) -> None:
    """416 means our Range starts at or past the end: either the part is complete, or it is junk."""
    match = re.fullmatch(r"bytes \*/(\d+)", exc.headers.get("Content-Range", "").strip())
    if match and int(match.group(1)) == offset:
        raise _CompleteAlready()
    log.debug("416 with Content-Range %r for offset %d: starting over",
              exc.headers.get("Content-Range"), offset)
    raise _StartOver()


def _start_and_total(resp: http.client.HTTPResponse, offset: int) -> tuple[int, int | None]:
    """Where this response's body starts in the file, and the full file size if announced.

    A server that ignores Range answers 200 with the whole file: then we start again at 0.
    """
    length = resp.headers.get("Content-Length")
    if resp.status == 206:
        content_range = resp.headers.get("Content-Range", "").strip()
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", content_range)
        if not match or int(match.group(1)) != offset:
            log.debug("unusable Content-Range %r for offset %d", content_range, offset)
            raise _StartOver()
        total = match.group(3)
        return offset, (int(total) if total != "*" else None)
    if offset:
        log.info("server ignored the Range request; downloading from the start")
    return 0, (int(length) if length is not None else None)


def _copy(resp: http.client.HTTPResponse, out: BinaryIO, bar: tqdm, start: int,
          total: int | None, url: str) -> int:
    """Stream the body into ``out``; a short body is an interruption, not success."""
    done = start
    while True:
        try:
            chunk = resp.read(CHUNK)
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadInterrupted(f"connection lost after {done} bytes ({exc!r})") from None
        if not chunk:
            break
        out.write(chunk)
        done += len(chunk)
        bar.update(len(chunk))
        if total is not None and done > total:
            raise VerificationError(f"{url} sent more than the announced {total} bytes")
    if total is not None and done < total:
        raise DownloadInterrupted(f"connection closed after {done} of {total} bytes")
    return done


def _transfer(url: str, dest_part: Path, expected_size: int | None, progress: bool,
              timeout: float) -> int:
    """One GET: resume or restart ``dest_part`` and return its final size."""
    offset = _partial_size(dest_part)
    if expected_size is not None and offset > expected_size:
        raise _StartOver()
    if expected_size is not None and offset == expected_size:
        log.debug("%s already holds all %d bytes", dest_part, offset)
        return offset
    try:
        resp = _open(url, offset, timeout)
    except _CompleteAlready:
        return offset
    with resp:
        start, total = _start_and_total(resp, offset)
        if expected_size is not None and total is not None and total != expected_size:
            raise VerificationError(
                f"{url} is {total} bytes but {expected_size} were expected, refusing it")
        total = total if total is not None else expected_size
        with open(dest_part, "ab" if start else "wb") as out, tqdm(
            total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
            desc=dest_part.name.removeprefix(".").removesuffix(".zip.part"), file=sys.stderr,
            disable=None if progress else True,
        ) as bar:
            return _copy(resp, out, bar, start, total, url)


def download(url: str, dest_part: Path, expected_size: int | None, progress: bool = True,
             timeout: float = TIMEOUT) -> int:
    """Download ``url`` into ``dest_part``, resuming what an earlier attempt left there.

    One HTTP attempt (plus a restart from byte 0 if the partial file proves unusable); raises
    ``DownloadInterrupted`` with the partial data kept when the connection breaks, so calling
    again resumes with a Range request. Returns the size of the complete file.
    """
    for _ in range(2):
        try:
            return _transfer(url, dest_part, expected_size, progress, timeout)
        except _StartOver:
            log.info("partial download %s cannot be resumed; starting over", dest_part)
            dest_part.unlink(missing_ok=True)
    raise NetworkError(f"server keeps refusing the range request for {url}")


def fetch(url: str, dest_part: Path, expected_size: int | None, progress: bool = True,
          attempts: int = ATTEMPTS) -> int:
    """``download`` with automatic resumption, so a flaky link rarely needs a manual rerun."""
    for attempt in range(1, attempts + 1):
        try:
            return download(url, dest_part, expected_size, progress)
        except DownloadInterrupted as exc:
            if attempt == attempts:
                raise DownloadInterrupted(
                    f"download interrupted: {exc}; the {_partial_size(dest_part)} bytes received "
                    f"are kept in {dest_part}, run the same command again to resume") from None
            log.warning("%s; resuming (attempt %d of %d)", exc, attempt + 1, attempts)
            time.sleep(RETRY_DELAY)
    raise AssertionError("unreachable")


# --- verification -----------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks so a 2 GB model does not fill memory."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def verify(path: Path, sha256: str | None, size: int | None) -> bool:
    """Check size and SHA-256 when they are known.

    Returns True when the SHA-256 was checked, False when there was none to check against (the
    caller must then say the download is unverified); raises VerificationError on mismatch.
    """
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise VerificationError(
            f"size mismatch for {path.name}: got {actual_size} bytes, expected {size}")
    if sha256 is None:
        return False
    actual = sha256_of(path)
    if actual != sha256.lower():
        raise VerificationError(
            f"SHA-256 mismatch for {path.name}: got {actual}, expected {sha256.lower()}")
    return True


# --- unpacking --------------------------------------------------------------------------------


def looks_complete(model_dir: Path) -> bool:
    """A vosk ASR model directory has at least its acoustic model and its config."""
    return all((model_dir / marker).is_file() for marker in MARKER_FILES)


def _check_members(zf: zipfile.ZipFile, staging: Path) -> None:
    """Reject 'zip slip' entries (absolute, drive, '..', or resolving outside the staging dir)."""
    root = staging.resolve()
    for info in zf.infolist():
        pure = PurePosixPath(info.filename.replace("\\", "/"))
        bad = (pure.is_absolute() or ".." in pure.parts
               or (pure.parts and ":" in pure.parts[0])
               or not (root / pure).resolve().is_relative_to(root))
        if bad:
            raise ArchiveError(f"unsafe path in archive, refusing to unpack: {info.filename!r}")


def _archive_root(names: Sequence[str]) -> str | None:
    """The single top-level folder to strip (vosk zips have ``NAME/``), or None for a flat zip."""
    tops = {PurePosixPath(n).parts[0] for n in names if PurePosixPath(n).parts}
    if len(tops) != 1:
        return None
    top = tops.pop()
    if top in MODEL_SUBDIRS or not all(n.startswith(top + "/") for n in names):
        return None
    return top


def _test_zip(zip_path: Path) -> zipfile.ZipFile:
    """Open the archive and check every member's CRC before anything is written."""
    try:
        zf = zipfile.ZipFile(zip_path)
        broken = zf.testzip()
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ArchiveError(f"{zip_path.name} is not a valid zip archive ({exc})") from None
    if broken is not None:
        zf.close()
        raise ArchiveError(f"{zip_path.name} is corrupt: bad CRC for {broken!r}")
    return zf


def _install(new_root: Path, target: Path) -> None:
    """Move the unpacked tree to ``target`` by rename, so the final path is never half-filled."""
    if not target.exists():
        new_root.rename(target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    target.rename(old / "model")
    try:
        new_root.rename(target)
    except OSError:
        (old / "model").rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _remove_stale_staging(models_dir: Path, name: str) -> None:
    """Staging dirs from an earlier run that died mid-unpack would otherwise pile up (GBs)."""
    for stale in models_dir.glob(f".{name}.unpack-*"):
        log.debug("removing stale %s", stale)
        shutil.rmtree(stale, ignore_errors=True)


def unpack(zip_path: Path, models_dir: Path, name: str) -> Path:
    """Unpack a verified model zip into ``models_dir/name`` safely and atomically.

    Works for zips holding a single top folder (usually ``name/``) and for flat zips; an
    existing ``models_dir/name`` is replaced only once the new tree is complete.
    """
    _remove_stale_staging(models_dir, name)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.unpack-", dir=models_dir))
    try:
        with _test_zip(zip_path) as zf:
            _check_members(zf, staging)
            top = _archive_root(zf.namelist())
            zf.extractall(staging)
        new_root = staging / top if top else staging
        if not looks_complete(new_root):
            raise ArchiveError(f"{zip_path.name} does not hold a vosk model "
                               f"({' and '.join(MARKER_FILES)} missing)")
        target = models_dir / name
        _install(new_root, target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --- command line -----------------------------------------------------------------------------


def _model_name(value: str) -> str:
    """A bare model name: it becomes a file and folder name, so no separators or dot-names."""
    if not NAME_RE.fullmatch(value):
        raise argparse.ArgumentTypeError(f"invalid model name {value!r}")
    return value.removesuffix(".zip")


def _sha256_arg(value: str) -> str:
    """64 hex digits, normalised to lower case."""
    if not HEX64_RE.fullmatch(value.strip()):
        raise argparse.ArgumentTypeError("expected 64 hexadecimal digits")
    return value.strip().lower()


def _size_arg(value: str) -> int:
    """A positive byte count."""
    if not value.isdigit() or int(value) <= 0:
        raise argparse.ArgumentTypeError("expected a positive number of bytes")
    return int(value)


def _url_arg(value: str) -> str:
    """Only http(s): urllib would also open file: and ftp: URLs, which we never mean."""
    if urllib.parse.urlsplit(value).scheme not in ("http", "https"):
        raise argparse.ArgumentTypeError("expected an http:// or https:// URL")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The CLI; argparse exits with code 2 on any usage error."""
    parser = argparse.ArgumentParser(
        prog="download_model.py",
        description="Download, verify and unpack a vosk model into models/.")
    parser.add_argument("name", nargs="?", type=_model_name, metavar="NAME",
                        help="model name, e.g. vosk-model-small-en-us-0.15 (see --list)")
    parser.add_argument("--url", type=_url_arg, default=BASE_URL, metavar="URL",
                        help=f"base URL holding NAME.zip (default {BASE_URL})")
    parser.add_argument("--sha256", type=_sha256_arg, metavar="HEX",
                        help="expected SHA-256 of NAME.zip (default: from the catalogue)")
    parser.add_argument("--size", type=_size_arg, metavar="BYTES",
                        help="expected size of NAME.zip (default: from the catalogue)")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR, metavar="DIR",
                        help="where models live (default: the repository's models/)")
    parser.add_argument("--force", action="store_true",
                        help="download again from scratch and replace an installed model")
    parser.add_argument("--list", action="store_true", help="list the known models and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log diagnostics to stderr")
    return parser


def list_models(models_dir: Path) -> None:
    """Print the catalogue with sizes, whether a checksum is known, and what is installed."""
    for info in CATALOGUE.values():
        size = f"{info.size / 1e6:7.0f} MB" if info.size else "   size ?"
        check = "sha256 known" if info.sha256 else "UNVERIFIED  "
        installed = "installed" if looks_complete(models_dir / info.name) else ""
        print(f"{info.name:32} {size}  {check}  {info.description}  {installed}".rstrip())


def expected_for(name: str, sha256: str | None, size: int | None) -> tuple[str | None, int | None]:
    """Explicit --sha256/--size win; otherwise the catalogue's values (possibly None)."""
    known = CATALOGUE.get(name)
    return (sha256 or (known.sha256 if known else None),
            size or (known.size if known else None))


def install(name: str, base_url: str, models_dir: Path, sha256: str | None = None,
            size: int | None = None, force: bool = False, progress: bool = True) -> Path:
    """Everything after argument parsing: download, verify, unpack, clean up."""
    target = models_dir / name
    if target.exists() and not force:
        if looks_complete(target):
            print(f"{name} is already installed in {target}; use --force to download it again.")
            return target
        raise ModelError(f"{target} exists but looks incomplete (no {' or '.join(MARKER_FILES)}); "
                         "use --force to replace it")
    sha256, size = expected_for(name, sha256, size)
    models_dir.mkdir(parents=True, exist_ok=True)
    part = models_dir / f".{name}.zip.part"
    if force:
        part.unlink(missing_ok=True)
    try:
        fetch(model_url(base_url, name), part, size, progress)
        verified = verify(part, sha256, size)
        unpack(part, models_dir, name)
    except (VerificationError, ArchiveError) as exc:
        deleted = part.exists()
        part.unlink(missing_ok=True)
        raise type(exc)(f"{exc}; {'deleted the download, ' if deleted else ''}"
                        "nothing was installed") from None
    part.unlink()
    if not verified:
        print(f"warning: no SHA-256 known for {name}: the download was NOT verified "
              "(pass --sha256 HEX to check it)", file=sys.stderr)
    print(f"Installed {name} in {target} ({'SHA-256 verified' if verified else 'NOT verified'}).")
    return target


def _one_line(text: str) -> str:
    """Errors must fit on one line whatever the underlying message contains."""
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 failure, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, format="%(levelname)s: %(message)s")
    log.setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    if args.list:
        list_models(args.models_dir)
        return 0
    if args.name is None:
        parser.error("NAME is required (or --list)")
    try:
        install(args.name, args.url, args.models_dir, args.sha256, args.size, args.force)
    except ModelError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: disk error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; run the same command again to resume", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
