from pathlib import Path

from simulation import load_scenario
from simulation.cli import main

SCENARIOS = sorted(Path(__file__).parent.parent.joinpath("scenarios").glob("*.toml"))


def test_shipped_scenarios_validate():
    assert SCENARIOS
    for path in SCENARIOS:
        s = load_scenario(path)
        assert s.cascade and s.population.cells


def test_cli_validate_exit_codes(tmp_path, capsys):
    assert main(["validate", "--quiet", str(SCENARIOS[0])]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [")
    assert main(["validate", str(bad)]) == 2
    assert "bad.toml" in capsys.readouterr().err
