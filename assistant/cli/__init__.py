"""The interface: the ``duet`` command (``main``) and the helpers behind its smaller commands
(``doctor``, ``transcribe``, ``readback`` for ``duet say``)."""

from __future__ import annotations

import signal
import sys


def main() -> None:
    """``duet``: the command line of ``cli/main.py``, loaded here so that Ctrl-C or SIGTERM while
    it loads (its imports take about 0.2 s) ends in one line too, not a traceback (a QA pass)."""

    def stopped(signum: int, frame: object) -> None:
        sys.stderr.write("duet: stopped (SIGTERM)\n" if signum == signal.SIGTERM else "duet: interrupted\n")
        raise SystemExit(143 if signum == signal.SIGTERM else 130)

    signal.signal(signal.SIGINT, stopped)
    signal.signal(signal.SIGTERM, stopped)
    from assistant.cli.main import main as run  # its main sets the session's own handlers

    run()


__all__ = ["main"]
