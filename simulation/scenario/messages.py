"""Messages for a wrong scenario file: pydantic's validation errors in the file's own words.

:func:`explain_validation_error` turns a failed validation into one ``(key path, problem)`` pair:
what was expected (read from the annotations of the models in :mod:`.schema`) and what was found.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ValidationError

from ..params import Dated
from .schema import (
    FieldProblem,
    ReferenceError_,
    Scenario,
    _did_you_mean,
    _year_or_meta,
    number_text,
    toml_text,
)

_TAG = re.compile(
    r"^(function-(before|after|wrap|plain)\[|(dict|list|tuple|set|nullable|union|"
    r"tagged-union|lax-or-strict|json-or-python|default|chain|model|dataclass)\[)"
)
"""Parts pydantic adds to an error's location for union members and validators (not keys)."""


def _is_tag(part: Any) -> bool:
    return isinstance(part, str) and bool(_TAG.match(part))


def _unwrap(ann: Any) -> tuple[Any, list[Any]]:
    """``Annotated[X, m1, m2]`` -> ``(X, [m1, m2])`` (nested Annotated flattened)."""
    meta: list[Any] = []
    while typing.get_origin(ann) is Annotated:
        args = typing.get_args(ann)
        ann, meta = args[0], [*meta, *args[1:]]
    return ann, meta


def _union_members(ann: Any) -> list[Any] | None:
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        return list(typing.get_args(ann))
    return None


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def _model_field(model: type[BaseModel], key: Any) -> tuple[str, Any] | None:
    """(field name, annotation with extras) of ``key`` (a field name or alias) in ``model``."""
    hints = typing.get_type_hints(model, include_extras=True)
    for name, info in model.model_fields.items():
        if key == name or key == info.alias:
            return name, hints[name]
    return None


def _annotation_at(loc: tuple[str | int, ...]) -> tuple[Any, str] | None:
    """The annotation of the value at ``loc`` in a scenario, and the name of its nearest field."""
    ann: Any = Scenario
    name = ""
    for part in loc:
        base, _ = _unwrap(ann)
        members = _union_members(base)
        if members is not None:
            models = [m for m in members if _is_model(_unwrap(m)[0])]
            non_none = [m for m in members if m is not type(None)]
            if models:
                base = _unwrap(models[0])[0]
            elif any(_unwrap(m)[0] is Dated for m in non_none) and not (
                isinstance(part, str) and part.isdigit()
            ):
                tables = [m for m in non_none if typing.get_origin(_unwrap(m)[0]) is dict]
                if not tables:
                    return ann, name
                base = _unwrap(tables[0])[0]
            else:
                return ann, name
        if _is_model(base):
            found = _model_field(base, part)
            if found is None:
                return None
            name, ann = found
        elif typing.get_origin(base) is dict:
            ann = typing.get_args(base)[1]
        elif typing.get_origin(base) is list:
            ann = typing.get_args(base)[0]
        elif base is Dated:
            return ann, name  # a year inside a dated table: the value's own description
        else:
            return None
    return ann, name


def _bounds(meta: list[Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in meta:
        for attr in ("ge", "gt", "le", "lt"):
            v = getattr(m, attr, None)
            if v is not None:
                out[attr] = v
        for sub in getattr(m, "metadata", []) or []:
            for attr in ("ge", "gt", "le", "lt"):
                v = getattr(sub, attr, None)
                if v is not None:
                    out[attr] = v
    return out


_MONEY_FIELDS = {"deductible", "annual_cap", "financing_per_head", "from", "from_yuan"}
_NOUNS = {
    "count": "a count of persons",
    "financing_per_head": "an amount in yuan per head",
    "deductible": "an amount in yuan",
    "annual_cap": "an amount in yuan",
    "entry_rate": "a quarterly rate between 0 and 1",
    "exit_rate": "a quarterly rate between 0 and 1",
    "trend": "a growth rate per year",
    "stay_needy": "a probability",
    "start_year": "a year",
    "verification_day": "a day of the quarter",
    "term_years": "a number of years",
    "horizon_years": "a number of years",
    "quantile": "a probability level",
    "shape": "a tail shape",
    "threshold_multiplier": "a multiplier",
    "dispersion": "a dispersion",
    "cv": "a coefficient of variation",
}


def _noun(name: str, kind: type) -> str:
    if name in _NOUNS and not _NOUNS[name].endswith("between 0 and 1"):
        return _NOUNS[name]
    if name in _MONEY_FIELDS or name.endswith("_yuan"):
        return "an amount in yuan"
    if name.endswith("_sd"):
        return "a standard deviation"
    if "ratio" in name:
        return "a ratio"
    if name.endswith("rate"):
        return "a rate"
    if "share" in name or name.startswith("in_policy"):
        return "a share"
    return "a whole number" if kind is int else "a number"


def _range_text(b: dict[str, float]) -> str:
    n = number_text
    if "ge" in b and "le" in b:
        return f" between {n(b['ge'])} and {n(b['le'])}"
    if "ge" in b and "lt" in b:
        return f" of at least {n(b['ge'])} and below {n(b['lt'])}"
    if "gt" in b and "lt" in b:
        return f" strictly between {n(b['gt'])} and {n(b['lt'])}"
    if "gt" in b and "le" in b:
        return f" above {n(b['gt'])} and at most {n(b['le'])}"
    if "ge" in b:
        return f" of at least {n(b['ge'])}"
    if "gt" in b:
        return f" above {n(b['gt'])}"
    if "le" in b:
        return f" of at most {n(b['le'])}"
    if "lt" in b:
        return f" below {n(b['lt'])}"
    return ""


def expectation(ann: Any, name: str = "") -> str:
    """What a value of annotation ``ann`` (the field ``name``) should be, in the file's words."""
    base, meta = _unwrap(ann)
    members = _union_members(base)
    if members is not None:
        members = [m for m in members if m is not type(None)]
        if len(members) == 1:
            return expectation(members[0], name)
        dated = any(_unwrap(m)[0] is Dated for m in members)
        tiers = any(typing.get_origin(_unwrap(m)[0]) is dict for m in members)
        if dated and tiers:
            return (
                f"{_NOUNS.get(name, 'a number')}, a table of years like {{2019 = 130, 2021 = 150}}, "
                "or a table of tiers like {tier1 = 130, tier2 = 110}"
            )
        return " or ".join(expectation(m, name) for m in members)
    if base is Dated:
        noun = _NOUNS.get(name) or _noun(name, float)
        return f"{noun}, or a table of years like {{2019 = 130, 2021 = 150}}"
    if base is bool:
        return "true or false"
    if base in (int, float):
        b = _bounds(meta)
        if name in _MONEY_FIELDS or name.endswith("_yuan"):
            if b == {"ge": 0.0}:
                return "an amount in yuan of at least 0"
            if b == {"gt": 0.0}:
                return "an amount in yuan above 0"
        return _noun(name, base) + _range_text(b)
    if base is str:
        return "text in quotes"
    if isinstance(base, type) and issubclass(base, Enum):
        return "one of " + ", ".join(f'"{m.value}"' for m in base)
    if typing.get_origin(base) is Literal:
        return "one of " + ", ".join(f'"{a}"' for a in typing.get_args(base))
    if typing.get_origin(base) is list:
        return f"a list of {_plural(expectation(typing.get_args(base)[0], name))}"
    if typing.get_origin(base) is dict or _is_model(base):
        return "a table"
    return "a value of the right kind"


def _plural(text: str) -> str:
    if text.startswith("one of "):
        return "values, each " + text
    if text == "text in quotes":
        return 'names in quotes, like ["a", "b"]'
    return text.removeprefix("a ").removeprefix("an ") + "s"


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    at = _annotation_at(loc)
    if at is None:
        return []
    base, _ = _unwrap(at[0])
    members = _union_members(base)
    if members is not None:
        base = next((_unwrap(m)[0] for m in members if _is_model(_unwrap(m)[0])), None)
    if _is_model(base):
        return [info.alias or n for n, info in base.model_fields.items()]
    return []


def _dated_input(value: Any) -> bool:
    """Whether a union input looks like a dated value (a number or a table of years)."""
    if not isinstance(value, dict):
        return True
    return any(_year_or_meta(k) for k in value)


def _choose_union_branch(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep, for each union field, only the errors of the member the input was meant for.

    The schema's one union is ``financing_per_head: DatedValue | dict[str, DatedValue]``: a number
    or a table with year keys was meant as a dated value, any other table as a table of tiers;
    anything else gets one message for the whole field.
    """
    groups: dict[tuple, list[int]] = {}
    for i, err in enumerate(errors):
        loc = err["loc"]
        tag_at = next((j for j, p in enumerate(loc) if _is_tag(p)), None)
        if tag_at is not None:
            groups.setdefault(tuple(loc[:tag_at]), []).append(i)
    drop: set[int] = set()
    replace: dict[int, dict[str, Any]] = {}
    for prefix, idx in groups.items():
        tags = {errors[i]["loc"][len(prefix)] for i in idx}
        if len(tags) < 2:
            continue  # one member only: a plain error
        # the input of the whole field, from an error raised at the member's own level
        top = next((errors[i] for i in idx if len(errors[i]["loc"]) == len(prefix) + 1), None)
        value = top["input"] if top is not None else {}
        if isinstance(value, bool) or not isinstance(value, dict | int | float):
            # neither a number nor a table: one message for the whole field
            replace[idx[0]] = {"type": "union_type", "loc": prefix, "input": value}
            drop.update(idx[1:])
            continue
        want_dated = _dated_input(value)
        for i in idx:
            tag = str(errors[i]["loc"][len(prefix)])
            is_dated_branch = tag.startswith("function-")
            if is_dated_branch != want_dated:
                drop.add(i)
    out = []
    for i, err in enumerate(errors):
        if i in replace:
            out.append(replace[i])
        elif i not in drop:
            out.append(err)
    return out


def _dated_problem(
    loc: tuple[str | int, ...], message: str, found: Any, expected: str | None
) -> tuple[tuple[str | int, ...], str]:
    """A :meth:`Dated.parse` message, pointed at the key inside the dated table where possible."""
    if (
        message.startswith(("expected a number or a table of years", "expected a finite"))
        and expected
    ):
        return loc, f"expected {expected}, found {toml_text(found)}"
    m = re.match(
        r"expected a year \(like 2019\), 'growth' or 'source' as key, found (.*)$", message
    )
    if m and isinstance(found, dict):
        key = next((k for k in found if not (str(k).isdigit() or k in ("growth", "source"))), None)
        if key is not None:
            hint = _did_you_mean(str(key), ["growth", "source"])
            return (*loc, str(key)), (
                f"unknown key {str(key)!r} in a dated value{hint}: expected a year (like 2019), "
                "'growth' or 'source'"
            )
    m = re.match(r"the value for (\d{4}) must be a number, found", message)
    if m and isinstance(found, dict):
        year = m.group(1)
        value = next((v for k, v in found.items() if str(k) == year), None)
        return (*loc, year), f"expected a number, found {toml_text(value)}"
    for key in ("growth", "source"):
        if message.startswith(f"{key} must be") and isinstance(found, dict):
            what = "a growth rate per year (a number)" if key == "growth" else "text in quotes"
            return (*loc, key), f"expected {what}, found {toml_text(found.get(key))}"
    return loc, message


def _problem(err: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    """The key path and message of one pydantic error (tags removed)."""
    loc = tuple(p for p in err["loc"] if not _is_tag(p))
    kind = err["type"]
    found = err.get("input")
    ctx = err.get("ctx", {}) or {}
    inner = ctx.get("error")
    if isinstance(inner, ReferenceError_):
        return tuple(inner.loc), inner.message
    if isinstance(inner, FieldProblem):
        return (*loc, *inner.sub), inner.message
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = _did_you_mean(str(loc[-1]), options)
        wanted = ", ".join(f'"{o}"' for o in options)
        return loc, f"unknown key {str(loc[-1])!r}{hint}: expected one of {wanted}"
    at = _annotation_at(loc)
    ann, name = at if at is not None else (None, str(loc[-1]) if loc else "")
    expected = expectation(ann, name) if ann is not None else None
    if kind == "extra_forbidden":
        options = _allowed_keys(loc[:-1])
        hint = _did_you_mean(str(loc[-1]), options)
        allowed = f"; allowed keys here: {', '.join(options)}" if options else ""
        return loc, f"unknown key {str(loc[-1])!r}{hint}{allowed}"
    if kind == "missing":
        what = f": expected {expected}" if expected else ""
        return loc, f"required key {str(loc[-1])!r} is missing{what}"
    if kind == "int_type" and isinstance(found, float) and not isinstance(found, bool):
        return loc, (
            f"expected {expected or 'a whole number'}, found {found!r} (a decimal number: "
            "write it without the decimal point)"
        )
    if kind == "value_error" and inner is not None:
        return _dated_problem(loc, str(inner), found, expected)
    if kind in ("enum", "literal_error"):
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        close = difflib.get_close_matches(str(found), options, n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        wanted = ", ".join(f'"{o}"' for o in options)
        return loc, f"expected one of {wanted}, found {toml_text(found)}{hint}"
    if kind == "finite_number" and expected is not None:
        return loc, f"expected {expected}, a finite number, found {toml_text(found)}"
    if expected is not None:
        return loc, f"expected {expected}, found {toml_text(found)}"
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    return loc, f"{msg}, found {toml_text(found)}"


def explain_validation_error(error: ValidationError) -> tuple[tuple[str | int, ...], str]:
    """One message for a failed scenario validation: ``(key path, problem)``.

    Unknown keys are reported first (a misspelt key usually also makes a required one missing:
    that consequence is not counted again); union members the input was not meant for are dropped;
    ``(and N more problems)`` counts the rest.
    """
    errors = _choose_union_branch([dict(e) for e in error.errors(include_url=False)])
    problems = [_problem(e) for e in errors]
    kinds = [e["type"] for e in errors]
    extras = [p for p, k in zip(problems, kinds, strict=True) if k == "extra_forbidden"]
    # a missing key explained by a misspelt one next to it is the same problem
    explained = set()
    for loc, message in extras:
        m = re.search(r"did you mean '([^']*)'", message)
        if m:
            explained.add((*loc[:-1], m.group(1)))
    rest = [
        p
        for p, k in zip(problems, kinds, strict=True)
        if k != "extra_forbidden" and not (k == "missing" and p[0] in explained)
    ]
    # a value under an unknown table key (``claims.outpatient.frequency``) is not a further problem
    bad_keys = [
        p[0] for p, k in zip(problems, kinds, strict=True) if p[1].startswith("unknown key")
    ]
    rest = [p for p in rest if not any(p[0][: len(b)] == b and p[0] != b for b in bad_keys)]
    ordered = extras + rest
    unique = list(dict.fromkeys(ordered))
    loc, message = unique[0]
    if len(unique) > 1:
        n = len(unique) - 1
        message += f" (and {n} more problem{'s' if n > 1 else ''})"
    return loc, message
