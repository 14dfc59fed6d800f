"""What rendering a report's page needs besides its numbers (shared by :mod:`.page` and
:mod:`.appendix`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import figures as F
from .html import Formatter, HtmlFigure
from .i18n import Translator


@dataclass
class PageContext:
    """What rendering needs besides the numbers: translators, formats, names and the figures."""

    t: Translator
    fmt: Formatter
    names: dict[str, dict[str, str]]
    unit_label: str
    add_figure: Callable[..., HtmlFigure]
    fig_t: Translator
    text: F.FigureText
    warnings: list[str]
