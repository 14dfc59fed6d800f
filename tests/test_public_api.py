"""The public API is pinned: removing or renaming a name is a deliberate, visible change."""

import simulation

PUBLIC = {
    "ClaimsDataError",
    "FundsimError",
    "ParameterError",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "__version__",
    "exact_claims_distribution",
    "explore",
    "load_scenario",
    "run",
    "save_result",
    "scenario_for_year",
    "sweep",
}


def test_public_names_are_pinned():
    assert set(simulation.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(simulation, name), name


def test_readme_python_snippet_runs():
    # the README's "From Python" example, with fewer paths
    from pathlib import Path

    s = simulation.load_scenario(Path(__file__).parent / "data" / "engine" / "layered.toml")
    result = simulation.run(s, paths=8, seed=1, years=2)
    summary = result.summary()
    assert set(summary["fund"]) == set(s.funds)
    assert len(result.paths) == 8 * 2 * len(s.funds)
