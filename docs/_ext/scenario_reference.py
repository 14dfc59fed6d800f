"""Sphinx extension: the scenario file reference, generated from the schema's pydantic models.

Every key of a scenario file, with its type, default, allowed range and the attribute docstring
that states its unit and source, walked from :class:`simulation.scenario.schema.Scenario`. The page
is written to ``docs/_generated/scenario_reference.md`` when the build starts, so it can never drift
from the schema. ``python docs/_ext/scenario_reference.py`` prints it.
"""

from __future__ import annotations

import ast
import enum
import inspect
import re
import textwrap
import types
import typing
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from simulation.params import Dated
from simulation.scenario.schema import Scenario

OUT = Path(__file__).resolve().parent.parent / "_generated" / "scenario_reference.md"


def attribute_docs(model: type[BaseModel]) -> dict[str, str]:
    """The docstrings written under a class's fields (``x: int = 1`` then ``\"\"\"...\"\"\"``)."""
    docs: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseModel)) or klass is BaseModel:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, after in zip(body, [*body[1:], None], strict=True):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def _bounds(metadata: list[Any]) -> str:
    parts = []
    for m in metadata:
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(m, attr, None)
            if v is not None and isinstance(
                m, annotated_types.BaseMetadata | annotated_types.Interval | FieldInfo
            ):
                parts.append(f"{sign} {v}")
    return ", ".join(dict.fromkeys(parts))


def type_text(tp: Any) -> str:
    """A type in a scenario writer's words."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        inner, *meta = args
        if inner is Dated:
            return "number or dated table (`{2019 = 130, growth = 0.05}`)"
        text = type_text(inner)
        bounds = _bounds(meta)
        return f"{text} ({bounds})" if bounds else text
    if tp is Dated:
        return "number or dated table (`{2019 = 130, growth = 0.05}`)"
    if origin in (typing.Union, types.UnionType):
        named = [type_text(a) for a in args if a is not type(None)]
        text = " or ".join(named)
        return f"{text}, optional" if type(None) in args else text
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a!r}`".replace("'", '"') for a in args)
    if origin in (list, tuple):
        return f"list of {type_text(args[0])}" if args else "list"
    if origin is dict:
        return f"table of {type_text(args[1])}" if args else "table"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(f'`"{m.value}"`' for m in tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"{tp.__name__} table"
    if tp is Any:
        return "any value"
    return {float: "number", int: "integer", str: "text", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is PydanticUndefined:
        return "computed"
    if isinstance(value, BaseModel):
        return "the section's defaults"
    if isinstance(value, enum.Enum):
        return f'`"{value.value}"`'
    if isinstance(value, Dated):
        return f"`{value.to_toml_value()!r}`"
    if value is None:
        return "none"
    if value in ({}, []):
        return "empty"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, list):
        items = [f'"{v.value}"' if isinstance(v, enum.Enum) else repr(v) for v in value]
        return "`[" + ", ".join(items).replace("'", '"') + "]`"
    return f"`{value!r}`".replace("'", '"')


def _models_in(tp: Any) -> list[tuple[str, type[BaseModel]]]:
    """The models below a field's type, with the key path step that reaches each."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _models_in(args[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in args for m in _models_in(a)]
    if origin in (list, tuple) and args:
        return [("[i]" + step, m) for step, m in _models_in(args[0])]
    if origin is dict and args:
        return [(".NAME" + step, m) for step, m in _models_in(args[1])]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [("", tp)]
    return []


def _summary(model: type[BaseModel]) -> str:
    """The first paragraph of a model's own docstring (a section's meaning)."""
    doc = model.__dict__.get("__doc__") or ""
    return inspect.cleandoc(doc).split("\n\n")[0] if doc else ""


def rows(model: type[BaseModel], prefix: str, seen: set[type]) -> list[tuple[str, ...]]:
    """``(key path, type, default, description)`` of every key below ``model``."""
    out = []
    docs = attribute_docs(model)
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = f"{prefix}.{key}" if prefix else key
        tp = field.annotation
        if field.metadata:
            tp = typing.Annotated[tp, *field.metadata]
        subs = _models_in(field.annotation)
        doc = docs.get(name) or next((_summary(m) for _, m in subs), "")
        out.append((path, type_text(tp), _default(field), doc))
        for step, sub in subs:
            if sub in seen:
                continue
            out.extend(rows(sub, path + step, seen | {sub}))
    return out


_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def _cell(text: str) -> str:
    """One table cell: one line, reST roles as code (``:func:`~a.b``` -> `` `b` ``)."""
    text = _ROLE.sub(lambda m: "`" + m.group(1).rsplit(".", 1)[-1] + "`", text)
    return " ".join(text.split()).replace("|", "\\|")


def reference() -> str:
    """The whole page (MyST markdown)."""
    lines = [
        "# Scenario file reference",
        "",
        "Generated from the schema (`simulation/scenario/schema/`) each time the docs are "
        "built: every key of a scenario file, its type and allowed range, its default, and what it "
        "means (unit and source, or `ASSUMPTION`). `NAME` stands for a name you choose (a "
        "category, a cell, a layer, a fund); `[i]` for a position in a list. Money is in yuan, "
        "rates per person-year, ratios and shares as fractions.",
        "",
        "| key | type | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for path, tp, default, doc in rows(Scenario, "", {Scenario}):
        lines.append(f"| `{path}` | {_cell(tp)} | {_cell(default)} | {_cell(doc)} |")
    return "\n".join(lines) + "\n"


def write(_app: object = None) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = reference()
    if not OUT.exists() or OUT.read_text() != text:
        OUT.write_text(text)


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", write)
    return {"parallel_read_safe": True, "version": "1"}


if __name__ == "__main__":
    print(reference())
