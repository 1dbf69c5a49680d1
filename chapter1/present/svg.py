"""SVG drawing primitives shared by every picture of the course (boxes, regions, arrows, text).

>>> "clients" in document(200, 100, [box(10, 10, "clients", ["web browser"], "#555", 150, 80)]).data
True
"""

import html
import re

DOWN = "#d62728"


class Picture:
    """SVG text that Jupyter displays as an image (without re-parsing it, unlike IPython's SVG).

    >>> Picture("<svg/>")._repr_svg_()
    '<svg/>'
    >>> Picture('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80"/>')
    <picture: 120 x 80 SVG>
    """

    def __init__(self, data):
        self.data = data

    def _repr_svg_(self):
        return self.data

    def __repr__(self):
        """What a text-only view shows, and what a notebook stores beside the SVG: the same from run to run."""
        size = re.match(r'\s*<svg\b[^>]*?\bwidth="([\d.]+)"[^>]*?\bheight="([\d.]+)"', self.data)
        return f"<picture: {size[1]} x {size[2]} SVG>" if size else "<picture: SVG>"


def text(x, y, words, size, weight="normal", anchor="start", fill="#333"):
    """A line of text (escaped) at (x, y)."""
    return (f'<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" text-anchor="{anchor}" '
            f'fill="{fill}">{html.escape(str(words))}</text>')


def box(x, y, title, lines, color, width, height):
    """A rounded box with a bold ``title`` and ``lines`` under it; a line starting "down" is red."""
    body = "".join(text(x + width / 2, y + 40 + 15 * k, line, 11, anchor="middle",
                        fill=DOWN if line.startswith("down") else "#333") for k, line in enumerate(lines))
    return (f'<rect x="{x}" y="{y}" width="{width}" height="{height}" rx="8" fill="white" stroke="{color}" '
            f'stroke-width="2"/>' + text(x + width / 2, y + 22, title, 13, "bold", "middle", color) + body)


def region(x, y, width, height, label_lines, color):
    """A dashed, tinted area (a network, a subnet) labelled at its top left."""
    labels = "".join(text(x + 10, y + 16 + 14 * k, line, 11 if k == 0 else 10, "bold" if k == 0 else "normal",
                          fill=color) for k, line in enumerate(label_lines))
    return (f'<rect x="{x}" y="{y}" width="{width}" height="{height}" rx="10" fill="{color}" fill-opacity="0.05" '
            f'stroke="{color}" stroke-dasharray="6 4"/>{labels}')


def arrow(x1, y1, x2, y2, label="", dashed=False):
    """An arrow from (x1, y1) to (x2, y2); its label sits above it (beside it when vertical)."""
    vertical = x1 == x2
    lx, ly, anchor = ((x1 + 8, (y1 + y2) / 2 + 4, "start") if vertical
                      else ((x1 + x2) / 2, min(y1, y2) - 7, "middle"))
    caption = text(lx, ly, label, 10, anchor=anchor, fill="#444") if label else ""
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2 - 2}" y2="{y2 - 2 if y2 > y1 else y2}" stroke="#444" '
            f'stroke-width="1.5"{dash} marker-end="url(#arrow)"/>{caption}')


def document(width, height, pieces):
    """The whole picture, white background, as an object Jupyter shows as SVG."""
    return Picture(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                   f'font-family="sans-serif" viewBox="0 0 {width} {height}">'
                   f'<rect width="{width}" height="{height}" fill="white"/>'
                   f'<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">'
                   f'<path d="M0,0 L8,4 L0,8 z" fill="#444"/></marker></defs>{"".join(pieces)}</svg>')
