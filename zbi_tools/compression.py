"""Storage-item compression: the one place zbi_tools calls lz4 and zstandard.

Writing follows Fuchsia's zbi tool: an LZ4 *frame* of independent 64 KiB blocks with the
content size in the frame header and no block or content checksums (level 4 by default),
or a zstd frame with the content size (level 4, long-distance matching from level 4 up).

Reading tells the format by the payload's magic and accepts any conforming producer: LZ4
frames with any block size, linked or independent blocks, with or without content size and
checksums; zstd frames.  Decompression is bounded by the size the item header promises
(`extra`): it never produces more than that many bytes, a stream that would give more (a
decompression bomb) or fewer bytes is an error, and so is data after the end of the frame.

One bounded, streaming decompressor (pieces) serves every reader: decompress() joins its
pieces into bytes, decompress_view() fills an anonymous mapping, verify() only counts them
(check), and extraction writes them straight to files.

Every failure of the third-party libraries is turned into ZbiCompressionError here, with
``field="payload"`` (or ``"extra"`` for a size mismatch); the caller (zbi_tools.image)
adds the item index and offset.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import lz4.frame
import zstandard

from zbi_tools import format as fmt
from zbi_tools.errors import ZbiCompressionError, ZbiUsageError

Algorithm = Literal["lz4", "zstd", "none"]
Buffer = bytes | memoryview

_INPUT_PIECE = 64 * 1024
_OUTPUT_PIECE = 1024 * 1024
"""Streaming sizes: input is fed and output taken in pieces of these sizes, so a streaming
consumer (verify, pieces) holds one output piece at a time."""
_HUGE_PAGE = 2 * 1024 * 1024

_ALGORITHM_NAMES: dict[str, Algorithm] = {"lz4": "lz4", "lz4f": "lz4", "zstd": "zstd"}
_MAX_LEVELS: dict[Algorithm, int] = {"lz4": lz4.frame.COMPRESSIONLEVEL_MAX,
                                     "zstd": fmt.ZSTD_MAX_LEVEL}
_DEFAULT_LEVELS: dict[Algorithm, int] = {"lz4": fmt.LZ4_DEFAULT_LEVEL,
                                         "zstd": fmt.ZSTD_DEFAULT_LEVEL}


@dataclass(frozen=True)
class Compression:
    """How to compress a storage payload: an algorithm and its level."""

    algorithm: Algorithm = "lz4"
    level: int | None = None
    """None means the algorithm's default (Fuchsia's: 4 for both)."""

    def __bool__(self) -> bool:
        return self.algorithm != "none"

    @classmethod
    def parse(cls, text: str) -> Compression:
        """Parse ``none``, ``lz4``/``lz4f``, ``zstd``, optionally with ``.LEVEL`` or ``.max``.

        Matches the spellings of Fuchsia's ``--compressed=HOW`` (case-insensitive).
        Raises ZbiUsageError for anything else.
        """
        spec = text.strip().lower()
        if spec == "none":
            return cls("none")
        name, dot, level_text = spec.partition(".")
        algorithm = _ALGORITHM_NAMES.get(name)
        if algorithm is None:
            raise ZbiUsageError(f"unrecognized compression {text!r} (expected lz4, zstd or none,"
                                " optionally with .LEVEL or .max)", field="compression",
                                actual=text)
        if not dot:
            return cls(algorithm)
        if level_text == "max":
            return cls(algorithm, _MAX_LEVELS[algorithm])
        try:
            return cls(algorithm, int(level_text))
        except ValueError:
            raise ZbiUsageError(f"bad compression level in {text!r}", field="compression",
                                actual=text) from None


NONE = Compression("none")
LZ4 = Compression("lz4")
ZSTD = Compression("zstd")


def compress(data: Buffer, how: Compression) -> bytes:
    """Compress data as one frame of the chosen algorithm (see the module docstring)."""
    if how.algorithm == "none":
        return bytes(data)
    level = _DEFAULT_LEVELS[how.algorithm] if how.level is None else how.level
    try:
        if how.algorithm == "lz4":
            return lz4.frame.compress(
                data,
                compression_level=level,
                block_size=lz4.frame.BLOCKSIZE_MAX64KB,
                block_linked=False,
                content_checksum=False,
                block_checksum=False,
                store_size=True,
            )
        params = zstandard.ZstdCompressionParameters.from_level(
            level, source_size=len(data), enable_ldm=level >= fmt.ZSTD_DEFAULT_LEVEL,
            write_content_size=True)
        return zstandard.ZstdCompressor(compression_params=params).compress(data)
    except (RuntimeError, zstandard.ZstdError, ValueError) as err:
        raise ZbiCompressionError(f"{how.algorithm} compression failed: {err}",
                                  field="payload") from err


def detect(data: Buffer) -> Algorithm | None:
    """The algorithm whose frame magic starts data, or None."""
    if len(data) < fmt.COMPRESSION_MAGIC.size:
        return None
    (magic,) = fmt.COMPRESSION_MAGIC.unpack_from(data)
    if magic == fmt.LZ4_FRAME_MAGIC:
        return "lz4"
    if magic == fmt.ZSTD_FRAME_MAGIC:
        return "zstd"
    return None


def decompress(data: Buffer, size: int) -> bytes:
    """Decompress one LZ4 or zstd frame that must expand to exactly `size` bytes.

    Never produces more than `size` bytes.  Raises ZbiCompressionError for an unknown
    magic, a corrupt or truncated frame, trailing data, or output that is not `size` bytes.
    """
    return b"".join(pieces(data, size))


def decompress_view(data: Buffer, size: int) -> memoryview:
    """decompress(), into a read-only anonymous mapping instead of a bytes object.

    Filling a mapping costs less than building a bytes object from pieces, and large ones
    get transparent huge pages where the OS offers them.
    """
    if size == 0:
        return memoryview(decompress(data, size))
    output = mmap.mmap(-1, size)
    if size >= _HUGE_PAGE and hasattr(mmap, "MADV_HUGEPAGE"):
        output.madvise(mmap.MADV_HUGEPAGE)
    position = 0
    for piece in pieces(data, size):
        output[position:position + len(piece)] = piece
        position += len(piece)
    return memoryview(output).toreadonly()


def verify(data: Buffer, size: int) -> None:
    """Check, as decompress() does, that data expands to exactly `size` bytes, streaming
    the output through a small buffer instead of keeping it."""
    for _ in pieces(data, size):
        pass


def pieces(data: Buffer, size: int) -> Iterator[bytes]:
    """decompress() in order, in pieces of at most 1 MiB: for streaming to a file.

    Every check decompress() makes still happens; a problem raises when it is reached, so a
    consumer may have seen earlier pieces by then.
    """
    algorithm = detect(data)
    if algorithm is None:
        head = bytes(data[: fmt.COMPRESSION_MAGIC.size]).hex() or "empty"
        raise ZbiCompressionError(
            f"compressed payload starts with {head}, not an LZ4 or zstd frame magic",
            field="payload")
    declared = _declared_size(data, algorithm)
    if declared is not None and declared != size:
        raise _size_error(algorithm, size, declared, "frame header declares")
    produce = _lz4_pieces if algorithm == "lz4" else _zstd_pieces
    produced = 0
    # Asking for one byte more than `size` is how a stream that is too long shows itself.
    for piece in produce(memoryview(data), size + 1):
        produced += len(piece)
        if produced > size:
            raise _size_error(algorithm, size, None, "decompresses to")
        yield piece
    if produced != size:
        raise _size_error(algorithm, size, produced, "decompresses to")


def _declared_size(data: Buffer, algorithm: Algorithm) -> int | None:
    """The content size the frame header declares, or None if it declares none."""
    try:
        if algorithm == "lz4":
            declared = lz4.frame.get_frame_info(data)["content_size"]
            return declared or None
        declared = zstandard.frame_content_size(data)
    except (RuntimeError, zstandard.ZstdError) as err:
        raise ZbiCompressionError(f"corrupt {algorithm} frame header: {err}",
                                  field="payload") from err
    return declared if declared >= 0 else None


def _size_error(algorithm: Algorithm, size: int, actual: int | None,
                what: str) -> ZbiCompressionError:
    """The error for a frame that declares or yields other than `size` bytes (None: more)."""
    amount = f"more than {size:#x}" if actual is None else f"{actual:#x}"
    return ZbiCompressionError(f"{algorithm} payload {what} {amount} bytes, extra says {size:#x}",
                               field="extra", expected=size, actual=actual)


def _lz4_pieces(view: memoryview, limit: int) -> Iterator[bytes]:
    """Decompress an LZ4 frame in pieces, stopping after `limit` bytes of output."""
    decompressor = lz4.frame.LZ4FrameDecompressor()
    produced = position = 0
    while not decompressor.eof and produced < limit:
        chunk: Buffer = b""
        if decompressor.needs_input:
            if position >= len(view):
                raise ZbiCompressionError(
                    f"lz4 frame is truncated after {produced:#x} bytes of output",
                    field="payload")
            chunk = view[position:position + _INPUT_PIECE]
            position += len(chunk)
        try:
            piece = decompressor.decompress(chunk, max_length=min(_OUTPUT_PIECE,
                                                                  limit - produced))
        except RuntimeError as err:
            raise ZbiCompressionError(f"corrupt lz4 frame: {err}", field="payload") from err
        if not (piece or chunk or decompressor.needs_input or decompressor.eof):
            raise ZbiCompressionError("lz4 frame makes no progress", field="payload")
        produced += len(piece)
        if piece:
            yield piece
    if decompressor.eof and (decompressor.unused_data or position < len(view)):
        unused = len(decompressor.unused_data or b"") + len(view) - position
        raise ZbiCompressionError(f"{unused:#x} bytes of data after the end of the lz4 frame",
                                  field="payload")


def _zstd_pieces(view: memoryview, limit: int) -> Iterator[bytes]:
    """Decompress a zstd frame in pieces, stopping after `limit` bytes of output.

    Reading across frames makes a second frame after the first count as excess output.
    """
    reader = zstandard.ZstdDecompressor().stream_reader(view, read_across_frames=True)
    produced = 0
    while produced < limit:
        try:
            piece = reader.read(min(_OUTPUT_PIECE, limit - produced))
        except zstandard.ZstdError as err:
            raise ZbiCompressionError(f"corrupt zstd frame: {err}", field="payload") from err
        if not piece:
            return
        produced += len(piece)
        yield piece
