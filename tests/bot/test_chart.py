"""The trend chart: a real PNG of the promised size, with bars in the outlets' colours."""

from __future__ import annotations

import io
import statistics
import time
from datetime import date, timedelta

import numpy as np
import pytest
from PIL import Image

from bot.chart import COLOURS, HEIGHT, OTHER_COLOUR, WIDTH, draw
from index.features.trend import Dated, Trend, count

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _pixels(png: bytes) -> np.ndarray:
    """The decoded image as height x width x RGB: a truncated or corrupt file fails here."""
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB"))


def _share(pixels: np.ndarray, colour: str) -> float:
    """The share of the pixels that are exactly ``colour`` (#rrggbb)."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return float((pixels == rgb).all(axis=2).mean())


def _trend(outlets: int):
    start = date(2024, 5, 1)
    articles = [
        Dated(f"Outlet {o}", start + timedelta(days=d)) for o in range(outlets) for d in range(0, 10, o + 1)
    ]
    return count("ferry strike $5 fares", articles)  # "$" must not start matplotlib's math mode


def test_the_chart_is_a_png_of_the_promised_size_with_bars() -> None:
    png = draw(_trend(6))
    assert png.startswith(PNG_SIGNATURE)
    image = _pixels(png)
    assert image.shape == (HEIGHT, WIDTH, 3)
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 50  # bars, text, antialiasing: not flat
    # Six outlets: the four biggest in their colours, the other two together in grey.
    assert all(_share(image, colour) > 0.01 for colour in (*COLOURS[:4], OTHER_COLOUR))
    assert _share(image, COLOURS[4]) == 0
    assert _share(image, "#ffffff") > 0.3  # a white background around them


def test_one_outlet_draws_in_the_first_colour_only() -> None:
    image = _pixels(draw(_trend(1)))
    assert _share(image, COLOURS[0]) > 0.01
    assert all(_share(image, colour) == 0 for colour in COLOURS[1:])  # (text edges make greys)


def test_an_empty_trend_is_not_drawn() -> None:
    with pytest.raises(ValueError, match="nothing to chart"):
        draw(count("quantum", []))


def _cpu_seconds(trend: Trend) -> float:
    """The median CPU time of three drawings of ``trend``."""
    times = []
    for _ in range(3):
        began = time.process_time()
        draw(trend)
        times.append(time.process_time() - began)
    return statistics.median(times)


def test_a_chart_over_decades_takes_no_longer_than_one_over_days() -> None:
    start = date(1950, 1, 1)
    weekly = [Dated(f"Outlet {n % 5}", start + timedelta(weeks=n)) for n in range(75 * 52)]
    wide = count("harbour", weekly, "1950-01-01", "2024-12-31")
    assert _cpu_seconds(wide) < 3 * _cpu_seconds(_trend(5))  # a bar per week took 20 s


def test_articles_at_the_ends_of_the_calendar_are_drawn() -> None:
    trend = count("harbour", [Dated("Herald", date.min), Dated("Times", date.max)], until="9999-12-31")
    image = _pixels(draw(trend))
    assert image.shape == (HEIGHT, WIDTH, 3) and _share(image, COLOURS[0]) > 0
