"""The one error type the command line turns into a single line for people, and the strict
YAML reading that config files and rehearsal scripts share."""

from __future__ import annotations

import errno
from typing import Any

import yaml


class DuetError(Exception):
    """A problem the user can fix: its message is one line saying what is wrong and what to do.

    The CLI prints it without a traceback and exits with ``exit_code`` (2: bad input).
    """

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


FIXES: dict[int, str] = {
    errno.EACCES: "make it readable and writable by you (ls -ld shows who owns it)",
    errno.EPERM: "make it readable and writable by you (ls -ld shows who owns it)",
    errno.EROFS: "that disk is read-only: reading commands (sessions, show, export) still work; "
                 "to record, use a writable place",
    errno.ENAMETOOLONG: "the name is too long for the file system: choose a shorter one",
    errno.ENOTDIR: "part of the path is a file, not a folder: choose another path",
    errno.EISDIR: "it is a folder, not a file: pass a file path",
    errno.ELOOP: "it is a loop of symbolic links: point the link at a real file",
    errno.ENOENT: "its folder does not exist: create it or choose another path",
    errno.ENOSPC: "the disk is full: free some space",
    errno.EDQUOT: "the disk quota is used up: free some space",
    errno.EFBIG: "the file is too large for the limits set here: free some space or raise the limit",
    errno.EIO: "the disk reported an input/output error: check the disk",
    errno.EBUSY: "it is busy: try again",
}
"""What to do about each kind of file-system error: the second half of the one line."""


def os_error(err: OSError, hint: str = "") -> DuetError:
    """The one line for a file-system error: which path, what went wrong, what to do.

    ``hint`` adds the way around it where the caller knows one (``or pass another file with
    --journal``). The command line's error boundary is the one caller for the journal's path.
    """
    where = err.filename if err.filename is not None else "a file"
    if err.filename2 is not None:
        where = f"{where} -> {err.filename2}"
    what = (err.strerror or str(err)).rstrip(".")
    fix = FIXES.get(err.errno or 0, "check the path and its permissions")
    message = f"cannot use {where}: {what}; {fix}{hint}"
    return DuetError(" ".join(message.split()))


MAX_DEPTH = 32
"""Deepest nesting accepted in a config or a script (both are a few levels deep)."""


def yaml_problem(err: Exception) -> str:
    """Where a YAML file went wrong and how (a ``yaml.YAMLError``): "line 3: found unexpected end
    of stream"."""
    mark = getattr(err, "problem_mark", None)
    where = f"line {mark.line + 1}: " if mark else ""
    return where + (getattr(err, "problem", None) or "not valid YAML")


class _UniqueKeys(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping: PyYAML keeps the last
    silently, so a couple's own ``partners:`` or ``checkin:`` added below the shipped one hid
    one of them, and a script line ``{at: "1:00", at: "2:00", say: ...}`` ran at 2:00 (found in
    QA passes)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"'{key}' is given twice (keep one)", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _AsWritten(_UniqueKeys):
    """``_UniqueKeys`` reading every plain scalar but an empty one as the text written: a rehearsal
    line says words, and YAML 1.1 made ``on`` true, ``1:30`` 90 and ``1234567`` 1.23457e+06 (a
    QA pass)."""

    yaml_implicit_resolvers = {first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
                               for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_yaml(text: str, *, as_written: bool = False) -> Any:
    """``text`` read as YAML, safely, refusing a key given twice (``yaml.YAMLError``);
    ``as_written``: every plain scalar is a string (``_AsWritten``)."""
    return yaml.load(text, Loader=_AsWritten if as_written else _UniqueKeys)  # noqa: S506 - a SafeLoader


def check_loaded(data: object, what: str) -> None:
    """Refuse, in one line, what a YAML file can hold but no Duet file should: nesting thousands
    deep, and text that is not valid Unicode (lone surrogates from ``"\\ud800"`` escapes), which
    could not be written to the journal or printed."""
    stack: list[tuple[object, int]] = [(data, 0)]
    seen: set[int] = set()  # YAML aliases share containers: walk each once
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise DuetError(f"{what} is nested more than {MAX_DEPTH} levels deep: check its structure")
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise DuetError(f"{what} holds text that is not valid Unicode ({item.encode('utf-8', 'backslashreplace')[:40]!r}): "
                                "write it as plain UTF-8 text") from None
        elif id(item) in seen:
            continue
        elif isinstance(item, dict):
            seen.add(id(item))
            stack += [(k, depth + 1) for k in item] + [(v, depth + 1) for v in item.values()]
        elif isinstance(item, (list, tuple)):
            seen.add(id(item))
            stack += [(v, depth + 1) for v in item]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` runs (the CLI exits with 143)."""

    signal_name = "SIGTERM"
