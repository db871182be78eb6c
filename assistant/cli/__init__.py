"""The interface: the ``duet`` command (``main``) and the helpers behind its smaller commands
(``doctor``, ``transcribe``, ``readback`` for ``duet say``)."""

from assistant.cli.main import main

__all__ = ["main"]
