"""Draw QuLab's icon (a flask on the app's indigo) and write it as PNG, ICO and ICNS.

Pure standard library, so it needs no image package: the shape is a few geometric tests,
anti-aliased by supersampling, and each size is drawn from the shapes rather than scaled.
Both ICO and ICNS may hold PNG data, which is what they get. Run it again after changing the
drawing: `python packaging/make_icon.py`; the outputs are committed under qulab_gui/assets/.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "qulab_gui" / "assets"
INDIGO = (57, 73, 171)  # the frame's primary colour
TEAL = (0, 137, 123)  # the frame's secondary colour
WHITE = (255, 255, 255)
SAMPLES = 4  # per axis, per pixel


def _in_rounded_rect(x: float, y: float, x0: float, y0: float, x1: float, y1: float, r: float) -> bool:
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def _half_width(y: float) -> float | None:
    """Half the width of the flask at height y (unit square, y down), or None outside it."""
    if 0.17 <= y <= 0.23:
        return 0.13  # rim
    if 0.23 < y <= 0.42:
        return 0.08  # neck
    if 0.42 < y <= 0.80:
        return 0.08 + (y - 0.42) / 0.38 * 0.22  # body widening to the base
    return None


def _in_flask(x: float, y: float, inset: float = 0.0) -> bool:
    half = _half_width(y)
    if half is None or abs(x - 0.5) > half - inset:
        return False
    return y <= 0.80 - inset and (y >= 0.17 + inset)


def colour_at(x: float, y: float) -> tuple[int, int, int, int]:
    """RGBA of one sample point in the unit square."""
    if not _in_rounded_rect(x, y, 0.0, 0.0, 1.0, 1.0, 0.19):
        return (0, 0, 0, 0)
    if _in_flask(x, y):
        inner = _in_flask(x, y, inset=0.035)
        if inner and y > 0.56:
            for bx, by, br in ((0.45, 0.66, 0.035), (0.56, 0.72, 0.025), (0.52, 0.61, 0.018)):
                if (x - bx) ** 2 + (y - by) ** 2 <= br * br:
                    return (*WHITE, 255)
            return (*TEAL, 255)
        return (*WHITE, 255)
    return (*INDIGO, 255)


def render(size: int) -> bytes:
    """Straight (non-premultiplied) RGBA rows, each prefixed with PNG filter byte 0."""
    rows = bytearray()
    step = 1.0 / (size * SAMPLES)
    for py in range(size):
        rows.append(0)
        for px in range(size):
            total = [0, 0, 0, 0]
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    r, g, b, a = colour_at((px * SAMPLES + sx + 0.5) * step, (py * SAMPLES + sy + 0.5) * step)
                    total[0] += r * a
                    total[1] += g * a
                    total[2] += b * a
                    total[3] += a
            alpha = total[3]
            if alpha:
                rows += bytes((total[0] // alpha, total[1] // alpha, total[2] // alpha, alpha // SAMPLES ** 2))
            else:
                rows += b"\0\0\0\0"
    return bytes(rows)


def png(size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(render(size), 9))
            + chunk(b"IEND", b""))


def ico(images: dict[int, bytes]) -> bytes:
    """A Windows icon whose entries are PNG images (supported since Windows Vista)."""
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    body = b""
    for size, data in images.items():
        side = 0 if size >= 256 else size  # 0 means 256 in an ICO directory entry
        out += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset + len(body))
        body += data
    return out + body


def icns(images: dict[int, bytes]) -> bytes:
    """A macOS icon: PNG payloads under the types for 128, 256 and 512 pixels."""
    types = {128: b"ic07", 256: b"ic08", 512: b"ic09"}
    body = b"".join(types[size] + struct.pack(">I", 8 + len(data)) + data for size, data in images.items())
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> None:
    ASSETS.mkdir(parents=True, exist_ok=True)
    images = {size: png(size) for size in (16, 32, 48, 128, 256, 512)}
    (ASSETS / "qulab.png").write_bytes(images[256])
    (ASSETS / "qulab.ico").write_bytes(ico({size: images[size] for size in (16, 32, 48, 256)}))
    (ASSETS / "qulab.icns").write_bytes(icns({size: images[size] for size in (128, 256, 512)}))
    for name in ("qulab.png", "qulab.ico", "qulab.icns"):
        print(f"wrote {ASSETS / name} ({(ASSETS / name).stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
