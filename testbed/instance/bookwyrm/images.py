"""Small, valid, deterministic PNG images built with zlib (so Pillow is not needed)."""

import random
import struct
import zlib


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png(seed, size_bytes):
    """An RGB PNG of roughly size_bytes: noise does not compress, so bytes ~ 3 * w * h."""
    rng = random.Random(seed)
    side = max(4, int((size_bytes / 3) ** 0.5))
    tint = [rng.randrange(256) for _ in range(3)]
    rows = []
    for _ in range(side):
        row = bytearray([0])  # filter type "None"
        for _ in range(side):
            row += bytes((tint[i] ^ rng.randrange(64)) for i in range(3))
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )


def size_for(index, low=1024, high=60 * 1024):
    """Deterministic sizes spread over 1-60 KB."""
    return low + (index * 7919) % (high - low)
