"""``--out DIR`` for the commands that print a table (``price``, ``compare``, ``sweep``): the table
as CSV and JSON in a folder, written atomically (:func:`simulation.outputs.atomic_dir`; the folder
and any missing parents are created like ``run``'s, after :func:`~simulation.outputs.check_output_dir`
has checked it before any work)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..outputs import atomic_dir, check_output_dir


def add_out_arg(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help=f"also write {name}.csv and {name}.json into DIR (created if missing; default: none)",
    )


def check_out(args: argparse.Namespace) -> None:
    """Check ``--out`` before the work starts (one line and exit 2 when it cannot be written)."""
    if getattr(args, "out", None):
        check_output_dir(args.out, "--out")


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def write_table(
    out: str | Path, name: str, table: pd.DataFrame, document: Any | None = None
) -> Path:
    """``out/name.csv`` (the table) and ``out/name.json`` (``document``, by default the table's
    records), together or not at all."""
    doc = table.to_dict("records") if document is None else document
    with atomic_dir(out) as tmp:
        table.to_csv(tmp / f"{name}.csv", index=False)
        (tmp / f"{name}.json").write_text(
            json.dumps(_clean(doc), indent=1, ensure_ascii=False, default=str), encoding="utf-8"
        )
    return Path(out)


def flat_rows(doc: dict[str, Any], prefix: str = "") -> pd.DataFrame:
    """A nested document as ``key, value`` rows (``solution.value``, ``bids[0].p_loss`` ...)."""
    rows: list[tuple[str, Any]] = []

    def walk(v: Any, key: str) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{key}.{k}" if key else str(k))
        elif isinstance(v, list | tuple) and v and isinstance(v[0], dict | list | tuple):
            for i, x in enumerate(v):
                walk(x, f"{key}[{i}]")
        else:
            rows.append(
                (key, v if not isinstance(v, list | tuple) else json.dumps(_clean(list(v))))
            )

    walk(doc, prefix)
    return pd.DataFrame(rows, columns=["key", "value"])
