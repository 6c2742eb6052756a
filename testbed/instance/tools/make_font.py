#!/usr/bin/env python3
"""Write a tiny but valid WOFF web font ("Testbed Sans") to the path given.

Run at image build time, so no binary font is committed. The output is deterministic
(fixed timestamps), so every build serves the same bytes (same ETag in a bucket).
"""

import sys
from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

FAMILY = "Testbed Sans"
EPOCH = 0  # head.created/modified: seconds since 1904, fixed for reproducibility


def box_glyph(width, height):
    """A filled rectangle: enough for a glyph that renders visibly."""
    pen = TTGlyphPen(None)
    pen.moveTo((50, 0))
    pen.lineTo((50, height))
    pen.lineTo((width - 50, height))
    pen.lineTo((width - 50, 0))
    pen.closePath()
    return pen.glyph()


def main(path):
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    order = [".notdef", "space", *list(letters)]
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(order)
    cmap = {ord(" "): "space"}
    cmap.update({ord(c): c for c in letters})
    fb.setupCharacterMap(cmap)
    glyphs = {".notdef": box_glyph(500, 700), "space": TTGlyphPen(None).glyph()}
    glyphs.update({c: box_glyph(600, 700 if c.isupper() else 500) for c in letters})
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics({name: (600 if name != "space" else 300, 50) for name in order})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": FAMILY, "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=800, usWinAscent=800, usWinDescent=200)
    fb.setupPost()
    fb.font["head"].created = fb.font["head"].modified = EPOCH
    fb.font.recalcTimestamp = False  # else save() stamps "now" into head.modified
    fb.font.flavor = "woff"  # zlib-compressed WOFF 1.0
    Path(path).parent.mkdir(parents=True, exist_ok=True)  # git keeps no empty fonts/ dir
    fb.save(path)


if __name__ == "__main__":
    main(sys.argv[1])
