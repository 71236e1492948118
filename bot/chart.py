"""A `Trend` drawn as a PNG: stacked bars of articles per day, week, month..., one colour per outlet.

Discord previews an image about 400 px wide, so the chart is drawn at twice that with type big enough
to read at half size, and few series (`trend.SERIES`). It draws with matplotlib's Agg canvas on a
figure of its own (no pyplot state), so charts can be drawn on several engine threads at once.
"""

from __future__ import annotations

import io
from datetime import date

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from index import OTHER, Trend

WIDTH, HEIGHT, DPI = 800, 450, 100  # pixels
# Okabe and Ito's colours, told apart with any colour vision; "other" is grey.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9")
OTHER_COLOUR = "#999999"
TITLE_CHARS = 40
LABEL_CHARS = 22
CALENDAR = date2num(date.min), date2num(date.max)


def _plain(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters, shown as written ("$" would start matplotlib math)."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text.replace("$", r"\$")


def draw(trend: Trend) -> bytes:
    """The PNG of a trend that has articles (`Trend.total`), WIDTH x HEIGHT pixels."""
    if not trend.total:
        raise ValueError("nothing to chart: the trend has no dated articles")
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    lefts, days = date2num(trend.starts), trend.days  # as numbers (days): bars of varying widths
    bottom = [0] * len(trend.starts)
    colours = iter(COLOURS)
    for name, counts in trend.counts.items():
        axes.bar(
            lefts,
            counts,
            width=[0.8 * length for length in days],
            bottom=bottom,
            align="edge",
            label=_plain(name, LABEL_CHARS),
            color=OTHER_COLOUR if name == OTHER else next(colours),
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    # Held to the calendar, which matplotlib's dates (and the ticks' labels) cannot leave.
    axes.set_xlim(max(lefts[0] - 0.2 * days[0], CALENDAR[0]), min(lefts[-1] + days[-1], CALENDAR[1]))
    locator = AutoDateLocator(minticks=2, maxticks=5)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    axes.set_ylabel(f"articles per {trend.bucket}", fontsize=16)
    axes.tick_params(labelsize=16)
    axes.xaxis.get_offset_text().set_fontsize(14)
    axes.spines[["top", "right"]].set_visible(False)
    figure.suptitle(_plain(trend.query, TITLE_CHARS), fontsize=18, fontweight="bold")
    figure.legend(loc="outside lower center", ncols=3, fontsize=14, frameon=False)
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
