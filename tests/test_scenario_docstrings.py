"""Every key of a scenario file has a docstring (unit, meaning, source or ASSUMPTION), read the way
the docs' generated scenario reference reads it (docs/_ext/scenario_reference.py)."""

from __future__ import annotations

from docs_reference import scenario_reference
from pydantic import BaseModel

from simulation.scenario.schema import Scenario

SOURCE_WORDS = ("ASSUMPTION", "RULES.md", "seed 00", "no policy value", "fundsim fit")


def field_docs(root: type[BaseModel]) -> dict[str, str]:
    """``"Model.field" -> its docstring ("" when it has none)`` for every model below ``root``."""
    ref = scenario_reference()
    out: dict[str, str] = {}
    todo, seen = [root], set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        docs = ref.attribute_docs(model)
        for name, field in model.model_fields.items():
            out[f"{model.__name__}.{name}"] = docs.get(name, "")
            todo.extend(sub for _, sub in ref._models_in(field.annotation))
    return out


def test_every_scenario_key_has_a_docstring():
    docs = field_docs(Scenario)
    assert len(docs) > 100  # the walk reaches every section
    missing = sorted(k for k, d in docs.items() if not d.strip())
    assert not missing, f"scenario keys without a docstring: {missing}"


def test_an_undocumented_key_is_caught():
    class Planted(BaseModel):
        documented: int = 1
        """Persons. Default 1: ASSUMPTION."""
        bare: int = 2

    class Root(BaseModel):
        part: Planted
        """A section."""

    docs = field_docs(Root)
    assert sorted(docs) == ["Planted.bare", "Planted.documented", "Root.part"]
    assert [k for k, d in docs.items() if not d.strip()] == ["Planted.bare"]


def test_a_default_policy_number_names_its_source():
    """A field whose default is a number other than 0 states where that number comes from."""
    docs = field_docs(Scenario)
    ref = scenario_reference()
    todo, seen, unsourced = [Scenario], set(), []
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            todo.extend(sub for _, sub in ref._models_in(field.annotation))
            d = field.default
            if isinstance(d, int | float) and not isinstance(d, bool) and d != 0:
                doc = docs[f"{model.__name__}.{name}"]
                if not any(w in doc for w in SOURCE_WORDS):
                    unsourced.append(f"{model.__name__}.{name}")
    assert not unsourced, unsourced
