"""Reading scenario files: TOML, ``extends`` (deep merge), validation, and clear errors.

A scenario file may say ``extends = "base.toml"`` (a path relative to the file) and then state only
what it changes: tables are merged key by key, any other value (arrays included) replaces the base's.
Every error is a :class:`~simulation.errors.ScenarioError` naming the file, the key path, what was
expected and what was found.
"""

from __future__ import annotations

import copy
import difflib
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import ScenarioError
from .schema import ReferenceError_, Scenario


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` merged onto a copy of ``base``: tables merge, other values replace."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_toml(path: Path) -> dict[str, Any]:
    """The raw table of one TOML file (no ``extends``)."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ScenarioError(str(path), "", "file not found") from None
    except IsADirectoryError:
        raise ScenarioError(str(path), "", "expected a TOML file, found a directory") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(str(path), "", f"not a valid TOML file: {e}") from None
    except UnicodeDecodeError:
        raise ScenarioError(str(path), "", "not a valid TOML file: it is not UTF-8 text") from None


def resolve_raw(path: str | Path, _chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[Path]]:
    """The merged raw table of ``path`` after following ``extends``, and the files it came from."""
    path = Path(path)
    real = path.resolve()
    if real in _chain:
        cycle = " -> ".join(p.name for p in (*_chain, real))
        raise ScenarioError(str(path), "extends", f"'extends' forms a cycle: {cycle}")
    raw = read_toml(path)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw, [path]
    if not isinstance(parent, str):
        raise ScenarioError(str(path), "extends", f"expected a file name, found {parent!r}")
    target = (path.parent / parent)
    if not target.exists():
        raise ScenarioError(
            str(path), "extends", f"the scenario it extends, {parent!r}, does not exist ({target})"
        )
    base, files = resolve_raw(target, (*_chain, real))
    return deep_merge(base, raw), [*files, path]


def format_loc(loc: tuple[str | int, ...]) -> str:
    """``('layers', 'si', 'bands', 2, 'ratio')`` -> ``layers.si.bands[2].ratio``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The pydantic model whose field the last element of ``loc`` names (for did-you-mean)."""
    import typing

    model: Any = Scenario
    for part in loc[:-1]:
        if model is None:
            return None
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(str(part))
            if field is None:
                field = next(
                    (f for f in model.model_fields.values() if f.alias == part), None
                )
            if field is None:
                return None
            model = field.annotation
        else:
            args = typing.get_args(model)
            origin = typing.get_origin(model)
            if origin is dict:
                model = args[1]
            elif origin is list:
                model = args[0]
            elif args:
                model = next(
                    (a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None
                )
                if model is None:
                    return None
                continue
            else:
                return None
        while typing.get_origin(model) is typing.Annotated:
            model = typing.get_args(model)[0]
        args = typing.get_args(model)
        if args and typing.get_origin(model) not in (dict, list):
            bm = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            if bm:
                model = bm[0]
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model
    args = typing.get_args(model)
    origin = typing.get_origin(model)
    if origin is dict and isinstance(args[1], type) and issubclass(args[1], BaseModel):
        return None
    return None


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _message(err: dict[str, Any]) -> tuple[str, str]:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    # pydantic adds the union member or validator name to loc; drop the noise it adds for Dated
    loc = tuple(p for p in loc if p not in ("Dated", "dict[str,Dated]", "dict[str,function-before[_parse_dated(), Dated]]"))
    kind = err["type"]
    found = err.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc)
        options = []
        if model is not None:
            options = [f.alias or n for n, f in model.model_fields.items()]
        hint = ""
        close = difflib.get_close_matches(str(loc[-1]), options, n=1)
        if close:
            hint = f" (did you mean {close[0]!r}?)"
        allowed = f"; allowed keys: {', '.join(options)}" if options else ""
        return format_loc(loc), f"unknown key {loc[-1]!r}{hint}{allowed}"
    if kind == "missing":
        return format_loc(loc), "required key is missing"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
        return format_loc(loc), msg
    if kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        ctx = err.get("ctx", {})
        bound = next(iter(ctx.values()), None)
        rel = {
            "less_than_equal": "at most",
            "greater_than_equal": "at least",
            "less_than": "below",
            "greater_than": "above",
        }[kind]
        what = "a ratio" if loc and "ratio" in str(loc[-1]) else "a value"
        return format_loc(loc), f"expected {what} {rel} {bound}, found {_describe(found)}"
    if kind == "enum":
        expected = err.get("ctx", {}).get("expected", "")
        return format_loc(loc), f"expected one of {expected}, found {_describe(found)}"
    return format_loc(loc), f"expected {msg.lower().removeprefix('input should be ')}, found {_describe(found)}"


def validate_raw(raw: dict[str, Any], file: str) -> Scenario:
    """Validate a merged raw table into a :class:`Scenario`, or raise one clear ScenarioError."""
    try:
        return Scenario.model_validate(raw)
    except ValidationError as e:
        errors = e.errors(include_url=False)
        for err in errors:
            inner = err.get("ctx", {}).get("error")
            if isinstance(inner, ReferenceError_):
                raise ScenarioError(file, format_loc(inner.loc), inner.message) from None
        key, problem = _message(errors[0])
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        raise ScenarioError(file, key, problem + more) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file."""
    raw, _files = resolve_raw(path)
    return validate_raw(raw, str(path))
