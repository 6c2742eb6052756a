#!/usr/bin/env python3
"""Write the layout's static images (logo.png, logo-small.png, favicon.ico) to the directory given.

Like upstream, every page links them from STATIC_URL + images/. Generated at image build time
(deterministic bytes), so no binary is committed.
"""

import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bookwyrm.images import png


def ico(png_bytes, side):
    """A one-image .ico whose image is a PNG (valid since Windows Vista, read by every browser)."""
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", side % 256, side % 256, 0, 0, 1, 32, len(png_bytes), 6 + 16)
    return header + entry + png_bytes


def main(directory):
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / "logo.png").write_bytes(png("testbed-logo", 6 * 1024))
    (out / "logo-small.png").write_bytes(png("testbed-logo-small", 1200))
    small = png("testbed-favicon", 700)
    (out / "favicon.ico").write_bytes(ico(small, struct.unpack(">I", small[16:20])[0]))


if __name__ == "__main__":
    main(sys.argv[1])
