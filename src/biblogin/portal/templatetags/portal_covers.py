"""Generated cover placeholders: an inline SVG from the title, no external image (issue 11)."""

from __future__ import annotations

import hashlib
import textwrap

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

PALETTES = 8
_LINE = 13
_LINES = 4


def cover_palette(title: str) -> int:
    """Return a stable colour scheme (0 to 7) for a title: the same book always looks the same."""
    digest = hashlib.sha256(title.casefold().encode()).digest()
    return digest[0] % PALETTES


def cover_lines(title: str) -> list[str]:
    """Return the title wrapped for the cover, at most four lines, the last one cut with '…'."""
    lines = textwrap.wrap(title, width=_LINE, break_long_words=True) or [""]
    if len(lines) > _LINES:
        lines = lines[:_LINES]
        lines[-1] = lines[-1][: _LINE - 1].rstrip() + "…"
    return lines


@register.simple_tag
def cover(title: str, creator: str = "", kind: str = "", size: str = "small") -> SafeString:
    """Render a decorative cover (hidden from screen readers: the title is next to it)."""
    title = str(title or "")
    lines = cover_lines(title)
    tspans = format_html_join(
        "",
        '<tspan x="12" dy="{}">{}</tspan>',
        ((("0" if i == 0 else "1.2em"), line) for i, line in enumerate(lines)),
    )
    return format_html(
        '<svg class="cover cover--{size} cover--c{palette}" viewBox="0 0 120 170" '
        'role="presentation" aria-hidden="true" focusable="false">'
        '<rect class="cover__bg" width="120" height="170" rx="4"></rect>'
        '<rect class="cover__band" y="118" width="120" height="52"></rect>'
        '<text class="cover__title" x="12" y="30">{tspans}</text>'
        '<text class="cover__creator" x="12" y="140">{creator}</text>'
        '<text class="cover__kind" x="12" y="158">{kind}</text>'
        "</svg>",
        size="large" if size == "large" else "small",
        palette=cover_palette(title),
        tspans=tspans,
        creator=textwrap.shorten(str(creator or ""), width=20, placeholder="…"),
        kind=str(kind or ""),
    )
