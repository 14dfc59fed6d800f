"""Fonts for figures: Latin from matplotlib's DejaVu Sans, Chinese from a CJK font if one is found.

Where a CJK font comes from, in this order:

1. a font package from PyPI installed with fundsim (:data:`CJK_PACKAGES`: Noto Sans SC from
   ``pylopdf-fonts-zh-cn``, or WenQuanYi Micro Hei from ``paperang-p2-fonts-cjk``), so a fresh
   machine has one;
2. a font file named by the environment variable ``FUNDSIM_CJK_FONT``;
3. a system font matplotlib knows (:data:`SYSTEM_FAMILIES`: Noto Sans CJK, WenQuanYi, SimHei, ...).

Figures use the font list ``[DejaVu Sans, <CJK family>]``: matplotlib falls back glyph by glyph.
Text is drawn only when every character has a glyph in one of them (:meth:`FontSetup.can_render`);
otherwise the caller uses its fallback text (an ASCII key, or the English label), so a figure never
shows tofu boxes. The lookup is done once per process (a cache of one entry).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

LATIN_FAMILY = "DejaVu Sans"

CJK_PACKAGES: tuple[tuple[str, str, str], ...] = (
    ("pylopdf_fonts_zh_cn", "NotoSansSC-Regular.otf", "pylopdf-fonts-zh-cn"),
    ("paperang_p2_fonts_cjk", "fonts/wqy-microhei.ttc", "paperang-p2-fonts-cjk"),
)
"""(module, font file inside it, PyPI distribution) of the font packages looked for, in order."""

SYSTEM_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "AR PL UMing CN",
)

INSTALL_HINT = (
    "pip install pylopdf-fonts-zh-cn (Noto Sans SC), or install a system CJK font "
    "(Debian/Ubuntu: apt-get install fonts-noto-cjk), or set FUNDSIM_CJK_FONT=/path/to/font"
)


@dataclass(frozen=True)
class FontSetup:
    """The fonts figures are drawn with, and the characters they can draw."""

    families: tuple[str, ...]
    """For ``rcParams["font.family"]``: Latin first, then the CJK family if any."""
    cjk_family: str | None
    source: str
    """Where the CJK font came from (a package, a file, the system), or why there is none."""
    charset: frozenset[int] = field(repr=False, default=frozenset())
    cjk_path: str | None = None
    """The CJK font file (for embedding a subset in HTML)."""

    @property
    def has_cjk(self) -> bool:
        return self.cjk_family is not None

    def can_render(self, text: str) -> bool:
        """True when every visible character of ``text`` has a glyph in one of the fonts."""
        return all(ord(ch) in self.charset for ch in text if not ch.isspace())


def _package_font(module: str, relpath: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / relpath
        if path.is_file():
            return path
    return None


def _charmap(path: str | Path) -> set[int]:
    from matplotlib.ft2font import FT2Font

    try:
        return set(FT2Font(str(path)).get_charmap())
    except (OSError, RuntimeError, ValueError):
        return set()


def _register(path: Path) -> str | None:
    """Add a font file to matplotlib; its family name, or None when it cannot be read."""
    from matplotlib import font_manager

    try:
        font_manager.fontManager.addfont(str(path))
        return font_manager.FontProperties(fname=str(path)).get_name()
    except (OSError, RuntimeError, ValueError):
        return None


def cjk_font_candidates() -> list[tuple[Path, str]]:
    """CJK font files available, in order of preference, each with where it came from."""
    out: list[tuple[Path, str]] = []
    for module, relpath, dist in CJK_PACKAGES:
        path = _package_font(module, relpath)
        if path is not None:
            out.append((path, f"PyPI package {dist}"))
    env = os.environ.get("FUNDSIM_CJK_FONT")
    if env and Path(env).is_file():
        out.append((Path(env), "FUNDSIM_CJK_FONT"))
    from matplotlib import font_manager

    by_name = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for family in SYSTEM_FAMILIES:
        if family in by_name:
            out.append((Path(by_name[family]), f"system font {family}"))
    return out


@functools.lru_cache(maxsize=1)
def font_setup() -> FontSetup:
    """Find the fonts once per process (see the module docstring)."""
    from matplotlib import font_manager

    latin_path = font_manager.findfont(LATIN_FAMILY, fallback_to_default=True)
    charset = _charmap(latin_path)
    for path, source in cjk_font_candidates():
        cjk = _charmap(path)
        if ord("中") not in cjk or ord("元") not in cjk:
            continue
        family = _register(path)
        if family is None:
            continue
        return FontSetup(
            families=(LATIN_FAMILY, family),
            cjk_family=family,
            source=f"{source} ({path.name})",
            charset=frozenset(charset | cjk),
            cjk_path=str(path),
        )
    return FontSetup(
        families=(LATIN_FAMILY,), cjk_family=None, source="none found", charset=frozenset(charset)
    )


def _wide(ch: str) -> bool:
    return ord(ch) >= 0x2E80


def web_font_subset(text: str, setup: FontSetup) -> str | None:
    """The CJK font cut down to the characters of ``text`` from U+2E80 on (CJK), as base64 WOFF
    for an HTML ``@font-face`` with that ``unicode-range`` (a few tens of kB), so a page shows
    Chinese even where the viewer has no CJK font. None when ``text`` has no such character or
    there is no CJK font."""
    chars = "".join(sorted({c for c in text if _wide(c) and ord(c) in setup.charset}))
    if not chars or setup.cjk_path is None:
        return None
    import base64
    import io

    from fontTools import subset

    options = subset.Options()
    options.flavor = "woff"
    options.font_number = 0
    options.layout_features = ["*"]
    try:
        font = subset.load_font(setup.cjk_path, options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars)
        subsetter.subset(font)
        buf = io.BytesIO()
        subset.save_font(font, buf, options)
    except Exception:  # noqa: BLE001 - a font we cannot cut: the page uses the viewer's fonts
        return None
    return base64.b64encode(buf.getvalue()).decode("ascii")
