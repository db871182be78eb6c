"""The heap policy the engines rely on: a large block freed leaves the process at once."""

import ctypes

import pytest

from assistant.speech import heap
from tests.helpers import rss_mb

MB = 1024 * 1024


@pytest.mark.skipif(heap._LIBC is None, reason="glibc only")
def test_a_freed_tensor_sized_block_is_not_kept_resident():
    """With glibc's dynamic threshold, freeing a 24 MB block raises the threshold to 24 MB, so a
    16 MB block after it comes from the heap and stays resident once freed (the heap's top is
    trimmed only beyond twice the threshold). With the threshold fixed, both leave at once."""
    assert heap.map_large_blocks()
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    before = rss_mb()
    for size in (24 * MB, 16 * MB):
        block = libc.malloc(size)
        assert block
        ctypes.memset(block, 1, size)  # touched: resident
        libc.free(block)
    assert rss_mb() - before < 4
