"""The report's Excel workbook (openpyxl): one sheet per table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd


def _sheet_name(name: str, used: set[str]) -> str:
    bad = "[]:*?/\\"
    base = "".join("_" if c in bad else c for c in name)[:31]
    out, i = base, 2
    while out.lower() in used:
        suffix = f"_{i}"
        out, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(out.lower())
    return out


def write_workbook(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """One sheet per table (openpyxl). Text cells are written as text, never as formulas."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, df in tables.items():
        ws = wb.create_sheet(_sheet_name(name, used))
        ws.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False):
            values = []
            for v in row:
                if isinstance(v, np.generic):
                    v = v.item()
                if isinstance(v, float) and not math.isfinite(v):
                    v = None
                values.append(v)
            ws.append(values)
        for col in ws.iter_cols(min_row=2):
            for cell in col:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
        for i, c in enumerate(df.columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(str(c)) + 2))
        ws.freeze_panes = "A2"
    wb.save(path)
