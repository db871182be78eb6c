"""How the process's C heap gives memory back: the engines' tensors are its largest users.

onnxruntime (its arena off, see asr_moonshine.py) allocates and frees each tensor with
``malloc``. glibc maps a large block on its own and unmaps it on ``free`` only while the block is
above its mmap threshold, and that threshold is dynamic: each mapped block freed raises it to
the block's size (up to 32 MB). After the first decode, a decode's tensors of a few megabytes come
from the ordinary heap, and freed memory stays there, scattered between live blocks where
``malloc_trim`` cannot always reach it. Measured here on the default engines over a simulated
session (scripts/bench.py, section 5): peak resident memory 263 MB with the dynamic threshold,
242 MB with a fixed 256 KiB one; decoding time the same within the run's noise on commands,
about 6 % longer on long answers. On a C library other than glibc, nothing here does anything.
"""

from __future__ import annotations

import ctypes

LARGE_BLOCK = 256 * 1024
"""Blocks of at least this many bytes are mapped on their own and unmapped when freed."""
_M_MMAP_THRESHOLD = -3
"""``mallopt``'s parameter number for the mmap threshold (glibc's malloc.h)."""


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


_LIBC = _glibc()


def map_large_blocks() -> bool:
    """Fix glibc's mmap threshold at ``LARGE_BLOCK`` (which also stops it moving), so that a
    tensor freed after a decode leaves the process at once. Idempotent; False where there is no
    glibc or it refuses."""
    return _LIBC is not None and _LIBC.mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK) == 1


def give_back() -> None:
    """Return freed heap memory to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Loading a graph parses the whole file and a decode allocates its scratch; glibc keeps what
    they free for reuse, so without this a session's resident memory only grows: measured here,
    210 MB after loading (163 MB trimmed) and 219 MB after five decodes (165 MB trimmed).
    """
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
