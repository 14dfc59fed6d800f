"""The report's messages added with issue 19 (precision, the director's sentences, the glossary,
comparisons in percentage points, workbook headers), English and Chinese; :mod:`.i18n` merges them
into its table (one key, one pair; a key in both is an error)."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------------ precision
    "needs_paths": ("needs {n} paths", "需 {n} 条路径"),
    "interval_needs_paths": ("[5–95%: needs {n} paths]", "[5%–95% 区间需 {n} 条路径]"),
}
