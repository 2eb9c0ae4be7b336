"""A flame graph (SVG) from collapsed stacks, the `py-spy record --format raw` output: one
line per distinct stack, frames root first separated by `;`, then a space and a count.

py-spy writes either its SVG or the raw stacks per recording; the bench records raw (for the
summary table) and draws the SVG here, so one recording gives both."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

WIDTH, ROW, FONT = 1200.0, 17, 11
# Frames of the project's own packages are drawn blue, the rest (libraries, runtime) warm.
PROJECT = ("domain/", "workflows/", "activities/", "api/", "store/", "payers/", "bench/")
# Leaf frames of a thread that waits (an event loop's select, an idle pool thread): not work.
IDLE = ("select (", "epoll_wait", "poll (", "wait (", "_worker (concurrent")


def busy(frames: list[str]) -> bool:
    return not any(idle in frames[-1] for idle in IDLE)


@dataclass
class Node:
    name: str
    value: int = 0
    children: dict[str, Node] = field(default_factory=dict)


def parse(text: str) -> Node:
    """The tree of busy samples (stacks ending in a wait are left out)."""
    root = Node("all")
    for line in text.splitlines():
        stack, _, count = line.strip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if not busy(frames):
            continue
        n = int(count)
        root.value += n
        node = root
        for frame in frames:
            node = node.children.setdefault(frame, Node(frame))
            node.value += n
    return root


def depth(node: Node) -> int:
    return 1 + max((depth(c) for c in node.children.values()), default=0)


def _colour(name: str) -> str:
    h = int(hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:6], 16)
    if any(p in name for p in PROJECT):
        return f"rgb({60 + h % 60},{120 + (h >> 8) % 80},{200 + (h >> 16) % 55})"
    return f"rgb({205 + h % 50},{80 + (h >> 8) % 120},{30 + (h >> 16) % 40})"


def svg(root: Node, title: str) -> str:
    """The flame graph: the root at the bottom, each frame as wide as its samples."""
    rows = depth(root)
    height = (rows + 2) * ROW
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:.0f}" height="{height}" '
        f'font-family="monospace" font-size="{FONT}">',
        f'<text x="{WIDTH / 2:.0f}" y="{ROW - 3}" text-anchor="middle" font-size="{FONT + 3}">'
        f"{escape(title)}: {root.value} busy samples</text>",
    ]
    total = max(root.value, 1)

    def draw(node: Node, x: float, level: int) -> None:
        w = WIDTH * node.value / total
        if w < 0.3:
            return
        y = height - (level + 1) * ROW
        share = 100 * node.value / total
        label = escape(node.name)
        parts.append(
            f"<g><title>{label} ({node.value} samples, {share:.1f} %)</title>"
            f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{ROW - 1}" '
            f'fill="{_colour(node.name)}" rx="2"/>'
        )
        chars = int(w / (FONT * 0.6))
        if chars >= 3:
            text = node.name if len(node.name) <= chars else node.name[: chars - 2] + ".."
            parts.append(f'<text x="{x + 3:.2f}" y="{y + ROW - 5}">{escape(text)}</text>')
        parts.append("</g>")
        child_x = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            draw(child, child_x, level + 1)
            child_x += WIDTH * child.value / total

    draw(root, 0.0, 0)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_svg(raw: Path, out: Path, title: str) -> Path:
    out.write_text(svg(parse(raw.read_text()), title))
    return out
