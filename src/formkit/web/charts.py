"""Bar charts as inline SVG, drawn on the server so the page needs no script and no network."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

BAR_COLOURS = {"out": "#c0392b", "returned": "#2e7d32", "other": "#8d8d8d"}
SERIES_LABELS = {"out": "未返校", "returned": "已复学/消帐", "other": "其他去向"}


def stacked_bars(title: str, rows: list[tuple[str, dict[str, int]]], width: int = 640) -> Markup:
    """Horizontal stacked bars (未返校 / 已复学 / 其他) per group, labelled with the counts."""
    bar_h, gap, label_w, top = 22, 8, 150, 46
    height = top + len(rows) * (bar_h + gap) + 10
    biggest = max((r["cases"] for _, r in rows), default=0) or 1
    scale = (width - label_w - 60) / biggest
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" aria-label="{escape(title)}">',
             f'<text x="0" y="18" class="chart-title">{escape(title)}</text>']
    lx = label_w
    for key in ("out", "returned", "other"):
        parts.append(f'<rect x="{lx}" y="28" width="12" height="12" fill="{BAR_COLOURS[key]}"/>'
                     f'<text x="{lx + 16}" y="39" class="chart-legend">{SERIES_LABELS[key]}</text>')
        lx += 110
    for i, (name, counts) in enumerate(rows):
        y = top + i * (bar_h + gap)
        shown = name if len(name) <= 10 else name[:9] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" class="chart-label">'
                     f'<title>{escape(name)}</title>{escape(shown)}</text>')
        x = float(label_w)
        for key in ("out", "returned", "other"):
            w = counts.get(key, 0) * scale
            if w:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{BAR_COLOURS[key]}">'
                             f'<title>{escape(name)} {SERIES_LABELS[key]} {counts.get(key, 0)}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 16}" class="chart-value">{counts.get("cases", 0)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
