"""Landed files as binary streams, decompressed on the fly (``.gz``, ``.zst``).

A compressed file that is cut off or damaged raises :class:`CorruptStream` where the damage is
met, so the reader can stop there with a clear reason. gzip comes from fsspec (it raises
``EOFError`` on a cut-off file); fsspec's zstd reader (python-zstandard's ``stream_reader``)
returns a cut-off stream as if it were whole, so zstd is decompressed here, checking that the
last frame ended.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import fsspec
import zstandard

from ingestion.landing.helpers import LandedFile

READ_BYTES = 1 << 20
_DECOMPRESSION_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error, zstandard.ZstdError)


class CorruptStream(Exception):
    """A compressed file that cannot be read to its end (cut off or damaged)."""


def damaged(exc: CorruptStream) -> str:
    return (
        f"the compressed file is cut off or damaged ({exc}): the records before this line were "
        "read; re-send the file"
    )


@contextmanager
def open_binary(fs: fsspec.AbstractFileSystem, landed: LandedFile) -> Iterator[BinaryIO]:
    """The file's bytes, decompressed as its extension says."""
    with fs.open(landed.path, "rb") as raw:
        if landed.compression == "zstd":
            inner: BinaryIO = _ZstdReader(raw)
        elif landed.compression:
            inner = fsspec.compression.compr[landed.compression](raw, mode="rb")
        else:
            inner = raw
        # Buffered here: fsspec's remote files do not take readline's size limit.
        with io.BufferedReader(_Checked(inner, landed.compression), READ_BYTES) as stream:
            yield stream


class _Checked(io.RawIOBase):
    """A decompressing stream whose decompression errors raise CorruptStream."""

    def __init__(self, inner: BinaryIO, compression: str | None) -> None:
        self._inner = inner
        self._compression = compression

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        try:
            return self._inner.readinto(buffer)
        except _DECOMPRESSION_ERRORS as exc:
            raise CorruptStream(f"{self._compression}: {exc}") from exc

    def close(self) -> None:
        self._inner.close()
        super().close()


class _ZstdReader(io.RawIOBase):
    """A zstd stream (one or more frames) that raises EOFError if the last frame is cut off."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._decompressor = zstandard.ZstdDecompressor().decompressobj()
        self._pending = memoryview(b"")
        self._started = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = self._raw.read(READ_BYTES)
            if not chunk:
                if self._started and not self._decompressor.eof:
                    raise EOFError("compressed file ended before the end of its last frame")
                return 0
            self._started = True
            self._pending = memoryview(self._decompress(chunk))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _decompress(self, data: bytes) -> bytes:
        out = []
        while data:
            if self._decompressor.eof:  # the next frame starts
                self._decompressor = zstandard.ZstdDecompressor().decompressobj()
            out.append(self._decompressor.decompress(data))
            data = self._decompressor.unused_data if self._decompressor.eof else b""
        return b"".join(out)
