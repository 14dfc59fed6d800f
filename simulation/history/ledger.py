"""The ledger of forecasts: every forecast fundsim made, in one embedded database file.

Why SQLite (and not DuckDB): it is in Python's standard library (no new dependency, no version
drift between the file and the reader), and it takes concurrent writers from several processes
(two scheduled reports finishing at once): the database runs in write-ahead-log mode, every
record is one ``BEGIN IMMEDIATE`` transaction, and a writer that finds the file locked waits up to
:data:`BUSY_TIMEOUT_S` seconds instead of failing. DuckDB lets only one process open a file for
writing at a time, so a second report would fail rather than wait. The ledger is small (a few
hundred rows a forecast), so SQLite's row store is no limit; an analyst can still read it with
DuckDB (``ATTACH 'ledger.sqlite' (TYPE sqlite)``) or pandas.

Tables
------
``forecasts``: one row per forecast: ``id``, ``created`` (UTC, ISO 8601), ``as_of`` (the date the
forecast speaks for, YYYY-MM-DD), ``command``, ``scenario_name``, ``scenario_file``,
``scenario_sha256`` and ``scenario_json`` (the resolved scenario, canonical JSON), ``seed``,
``paths``, ``years``, ``method`` (``monte_carlo``...), ``output`` (the report or run folder),
``fundsim_version``, ``git_commit``.

``values``: per forecast, fund, policy year and measure (:data:`MEASURES`: claims, insurer result,
clawback, balance, premium, subsidy; yuan): ``mean``, ``se`` (Monte Carlo standard error of the
mean) and the quantiles :data:`QUANTILES` of the paths.

Nothing is ever replaced or deleted: each forecast adds rows. :func:`diff_scenarios` compares two
resolved scenarios by key path (``layers.serious_illness.bands[2].ratio``) and :func:`movements`
two forecasts' numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FundsimError

LEDGER_ENV = "FUNDSIM_LEDGER"
"""Environment variable naming the ledger file (the ``--ledger`` option wins over it)."""
LEDGER_NAME = "fundsim-ledger.sqlite"
"""File name of the default ledger, beside the reports."""
BUSY_TIMEOUT_S = 60.0
"""How long a writer waits for another to finish, seconds."""
RETRY_S = 0.05
"""Seconds between tries to open a ledger another process holds (:meth:`Ledger._initialise`)."""
MEASURES = ("claims", "insurer_result", "clawback", "balance", "premium", "subsidy")
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
QUANTILE_COLUMNS = tuple(f"q{round(100 * q):02d}" for q in QUANTILES)
HEADLINE = ("claims", "insurer_result", "clawback", "balance")
"""The measures whose movement the report's section shows."""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS forecasts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    as_of TEXT NOT NULL,
    command TEXT,
    scenario_name TEXT NOT NULL,
    scenario_file TEXT,
    scenario_sha256 TEXT NOT NULL,
    scenario_json TEXT NOT NULL,
    seed INTEGER NOT NULL,
    paths INTEGER NOT NULL,
    years INTEGER NOT NULL,
    method TEXT NOT NULL,
    output TEXT,
    fundsim_version TEXT,
    git_commit TEXT
);
CREATE TABLE IF NOT EXISTS "values" (
    forecast_id INTEGER NOT NULL REFERENCES forecasts(id),
    fund TEXT NOT NULL,
    year INTEGER NOT NULL,
    measure TEXT NOT NULL,
    mean REAL, se REAL, {", ".join(f"{q} REAL" for q in QUANTILE_COLUMNS)},
    PRIMARY KEY (forecast_id, fund, year, measure)
);
CREATE INDEX IF NOT EXISTS forecasts_as_of ON forecasts(as_of);
"""


@dataclass(frozen=True)
class Forecast:
    """One forecast: what produced it and its numbers."""

    scenario_name: str
    scenario: dict[str, Any]
    """The resolved scenario (JSON-ready)."""
    seed: int
    paths: int
    years: int
    method: str
    as_of: str
    """YYYY-MM-DD."""
    values: pd.DataFrame
    """Columns ``fund, year, measure, mean, se`` and :data:`QUANTILE_COLUMNS`."""
    scenario_file: str | None = None
    output: str | None = None
    command: str | None = None
    created: str | None = None
    id: int | None = None
    fundsim_version: str | None = None
    git_commit: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def scenario_sha256(self) -> str:
        from ..outputs import scenario_hash

        return scenario_hash(self.scenario)

    def label(self) -> str:
        where = f" ({self.output})" if self.output else ""
        ident = f"#{self.id} " if self.id is not None else ""
        return f"{ident}{self.scenario_name} as of {self.as_of}, made {self.created or '?'}{where}"


def forecast_values(money: Mapping[str, np.ndarray], years: Sequence[int], funds: Sequence[str]):
    """Per fund-year means, standard errors and quantiles of the paths of each measure.

    ``money[m]`` has shape ``(paths, years, funds)`` (as :attr:`SimulationResult.money`).
    """
    rows = []
    for m in MEASURES:
        arr = np.asarray(money[m], dtype=np.float64)
        k = arr.shape[0]
        for y, year in enumerate(years):
            for f, fund in enumerate(funds):
                v = arr[:, y, f]
                qs = np.quantile(v, QUANTILES)
                rows.append(
                    {
                        "fund": fund,
                        "year": int(year),
                        "measure": m,
                        "mean": float(v.mean()),
                        "se": float(v.std(ddof=1) / math.sqrt(k)) if k > 1 else float("nan"),
                        **{c: float(q) for c, q in zip(QUANTILE_COLUMNS, qs, strict=True)},
                    }
                )
    return pd.DataFrame(rows)


def forecast_from_result(
    result: Any,
    *,
    method: str = "monte_carlo",
    as_of: dt.date | str | None = None,
    scenario_file: str | None = None,
    output: str | None = None,
    command: str | None = None,
) -> Forecast:
    """The forecast of an engine :class:`~simulation.engine.result.SimulationResult`."""
    from ..scenario.resolve import scenario_table

    scenario = result.plan.scenario
    when = as_of or dt.date.today()
    return Forecast(
        scenario_name=scenario.name,
        scenario=json.loads(json.dumps(scenario_table(scenario), default=str)),
        seed=int(result.info.seed),
        paths=int(result.n_paths),
        years=len(result.years),
        method=method,
        as_of=when if isinstance(when, str) else when.isoformat(),
        values=forecast_values(result.money, result.years, result.plan.funds),
        scenario_file=scenario_file,
        output=output,
        command=command,
    )


def default_ledger_path(out_pattern: str | None) -> Path:
    """The ledger beside the reports: the folder part of ``--out`` before its first field
    (``reports/{scenario}/{date}`` -> ``reports/``), else the output folder's parent."""
    if not out_pattern:
        return Path(LEDGER_NAME)
    text = str(out_pattern)
    if "{" in text:
        head = text.split("{", 1)[0]
        folder = Path(head) if head.endswith(("/", os.sep)) else Path(head).parent
    else:
        folder = Path(text).parent
    return folder / LEDGER_NAME


def ledger_path(option: str | None, out_pattern: str | None = None) -> Path:
    """The ledger file: ``--ledger``, else ``$FUNDSIM_LEDGER``, else beside the reports."""
    if option:
        return Path(option)
    env = os.environ.get(LEDGER_ENV, "").strip()
    if env:
        return Path(env)
    return default_ledger_path(out_pattern)


class Ledger:
    """The ledger file (created on first write). Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise FundsimError(f"{self.path}: ledger: no such file (no forecast recorded yet)")
        if self.path.is_dir():
            raise FundsimError(f"{self.path}: ledger: expected a file, found a folder")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self.db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._initialise()
        except sqlite3.DatabaseError as e:
            raise FundsimError(f"{self.path}: ledger: not a fundsim ledger ({e})") from None

    def _initialise(self) -> None:
        """WAL mode and the tables, retried while another process holds the file: switching the
        journal mode, and a read that turns into a write, get "database is locked" at once,
        without SQLite's busy wait (seen with two writers opening a new ledger together). The
        tables are created in one ``BEGIN IMMEDIATE`` transaction, which does wait."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.executescript(f"BEGIN IMMEDIATE;\n{_SCHEMA}\nCOMMIT;")
                return
            except sqlite3.OperationalError as e:
                if self.db.in_transaction:
                    self.db.rollback()
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(RETRY_S)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def record(self, forecast: Forecast) -> int:
        """Add a forecast (one transaction); returns its id."""
        from .._version import __version__
        from ..outputs import git_commit

        created = forecast.created or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute(
                "INSERT INTO forecasts (created, as_of, command, scenario_name, scenario_file, "
                "scenario_sha256, scenario_json, seed, paths, years, method, output, "
                "fundsim_version, git_commit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    created,
                    forecast.as_of,
                    forecast.command,
                    forecast.scenario_name,
                    forecast.scenario_file,
                    forecast.scenario_sha256,
                    json.dumps(forecast.scenario, sort_keys=True, ensure_ascii=False),
                    forecast.seed,
                    forecast.paths,
                    forecast.years,
                    forecast.method,
                    forecast.output,
                    forecast.fundsim_version or __version__,
                    forecast.git_commit or git_commit(),
                ),
            )
            fid = int(cur.lastrowid or 0)
            cols = ["fund", "year", "measure", "mean", "se", *QUANTILE_COLUMNS]
            rows = [
                (fid, *[_sql(v) for v in r])
                for r in forecast.values[cols].itertuples(index=False, name=None)
            ]
            cur.executemany(
                f'INSERT INTO "values" (forecast_id, {", ".join(cols)}) '
                f"VALUES ({', '.join('?' * (len(cols) + 1))})",
                rows,
            )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return fid

    def list(self) -> pd.DataFrame:
        """Every forecast, oldest first (no values)."""
        return pd.read_sql_query(
            "SELECT id, created, as_of, scenario_name, scenario_sha256, seed, paths, years, "
            "method, output, scenario_file FROM forecasts ORDER BY id",
            self.db,
        )

    def get(self, fid: int) -> Forecast:
        row = self.db.execute(
            "SELECT id, created, as_of, command, scenario_name, scenario_file, scenario_json, "
            "seed, paths, years, method, output, fundsim_version, git_commit FROM forecasts "
            "WHERE id = ?",
            (fid,),
        ).fetchone()
        if row is None:
            raise FundsimError(f"{self.path}: ledger: no forecast #{fid}")
        values = pd.read_sql_query(
            f'SELECT fund, year, measure, mean, se, {", ".join(QUANTILE_COLUMNS)} FROM "values" '
            "WHERE forecast_id = ? ORDER BY rowid",
            self.db,
            params=(fid,),
        )
        (i, created, as_of, command, name, sfile, sjson, seed, paths, years, method, out, v, g) = (
            row
        )
        return Forecast(
            scenario_name=name,
            scenario=json.loads(sjson),
            seed=seed,
            paths=paths,
            years=years,
            method=method,
            as_of=as_of,
            values=values,
            scenario_file=sfile,
            output=out,
            command=command,
            created=created,
            id=i,
            fundsim_version=v,
            git_commit=g,
        )

    def find(self, ref: str, scenario_name: str | None = None) -> Forecast:
        """The forecast ``ref`` names: ``last`` (the latest, of ``scenario_name`` when given),
        ``#N`` (by id), a date ``YYYY-MM-DD`` (the latest made as of that date or before), or the
        path of a report folder recorded in the ledger."""
        where, params = "", ()
        if scenario_name is not None:
            where, params = " AND scenario_name = ?", (scenario_name,)
        what = f" of scenario {scenario_name!r}" if scenario_name else ""
        if ref == "last":
            row = self.db.execute(
                f"SELECT id FROM forecasts WHERE 1=1{where} ORDER BY id DESC LIMIT 1", params
            ).fetchone()
            if row is None:
                raise FundsimError(f"--against last: {self.path}: no forecast{what} in the ledger")
            return self.get(row[0])
        if ref.startswith("#") and ref[1:].isdigit():
            return self.get(int(ref[1:]))
        try:
            day = dt.date.fromisoformat(ref)
        except ValueError:
            day = None
        if day is not None:
            row = self.db.execute(
                f"SELECT id FROM forecasts WHERE as_of <= ?{where} ORDER BY as_of DESC, id DESC "
                "LIMIT 1",
                (day.isoformat(), *params),
            ).fetchone()
            if row is None:
                raise FundsimError(
                    f"--against {ref}: {self.path}: expected a forecast{what} as of {ref} or "
                    "before, found none"
                )
            return self.get(row[0])
        target = os.path.abspath(ref)
        for fid, out in self.db.execute(
            "SELECT id, output FROM forecasts WHERE output IS NOT NULL ORDER BY id DESC"
        ):
            if os.path.abspath(out) == target:
                return self.get(fid)
        raise FundsimError(
            f"--against {ref}: expected last, #N, a date YYYY-MM-DD or a report folder recorded "
            f"in {self.path}, found none of these"
        )

    def check(self) -> str:
        """SQLite's integrity check (``ok`` when the file is sound)."""
        return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])


def _sql(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# --------------------------------------------------------------------------- comparing two


@dataclass(frozen=True)
class Change:
    """One key path whose value differs between two resolved scenarios."""

    path: str
    before: Any
    after: Any
    """``MISSING`` where the key is absent on that side."""


MISSING = "(absent)"


def _walk(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        if not value and prefix:
            yield prefix, {}
        for k, v in value.items():
            yield from _walk(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list) and any(isinstance(x, (Mapping, list)) for x in value):
        for i, v in enumerate(value):
            yield from _walk(v, f"{prefix}[{i}]")
    else:
        yield prefix, value


def diff_scenarios(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """The key paths whose value differs (``layers.x.bands[2].ratio``), in ``after``'s order."""
    a = dict(_walk(before, ""))
    b = dict(_walk(after, ""))
    out = []
    for path in [*b, *(p for p in a if p not in b)]:
        va, vb = a.get(path, MISSING), b.get(path, MISSING)
        if va != vb:
            out.append(Change(path, va, vb))
    return out


def run_changes(before: Forecast, after: Forecast) -> list[Change]:
    """Changes of seed, paths, years and method between two forecasts."""
    return [
        Change(name, getattr(before, name), getattr(after, name))
        for name in ("seed", "paths", "years", "method")
        if getattr(before, name) != getattr(after, name)
    ]


def movements(before: Forecast, after: Forecast, measures: Sequence[str] = HEADLINE):
    """How each headline number moved: per fund, year and measure, the means before and after,
    the change (yuan), the change in % of the earlier mean, and the change's standard error
    (``sqrt(se_a^2 + se_b^2)``, independent runs; 0 on common random numbers would be smaller)."""
    keys = ["fund", "year", "measure"]
    a = before.values[before.values["measure"].isin(measures)][[*keys, "mean", "se"]]
    b = after.values[after.values["measure"].isin(measures)][[*keys, "mean", "se"]]
    m = b.merge(a, on=keys, how="outer", suffixes=("_after", "_before"))
    m = m.rename(columns={"mean_after": "after", "mean_before": "before"})
    m["change"] = m["after"] - m["before"]
    with np.errstate(divide="ignore", invalid="ignore"):
        m["change_pct"] = 100 * m["change"] / m["before"].abs()
    m["change_se"] = np.sqrt(m["se_after"].fillna(0) ** 2 + m["se_before"].fillna(0) ** 2)
    order = {k: i for i, k in enumerate(measures)}
    m = m.sort_values(["fund", "year"], kind="stable")
    m = m.sort_values("measure", key=lambda s: s.map(order), kind="stable")
    cols = [*keys, "before", "after", "change", "change_pct", "change_se"]
    return m[cols].reset_index(drop=True)


__all__ = [
    "BUSY_TIMEOUT_S",
    "Change",
    "Forecast",
    "LEDGER_ENV",
    "LEDGER_NAME",
    "Ledger",
    "MEASURES",
    "diff_scenarios",
    "forecast_from_result",
    "forecast_values",
    "ledger_path",
    "movements",
    "run_changes",
]
