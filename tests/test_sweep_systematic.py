"""``sweep`` under systematic risk: the factors (columns of ``paths``, the variance split) are kept,
the same as a run's; the key-path setter is the scenario's (one implementation)."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.engine.run import run
from simulation.engine.sweep import set_path, sweep
from simulation.errors import FundsimError
from simulation.scenario import validate_raw
from simulation.scenario.resolve import scenario_table
from tests.test_systematic_engine import SECTION, scenario


def test_sweep_keeps_the_factor_columns_and_the_split():
    base = scenario(SECTION, 2)
    richer = base.with_values({"layers.serious_illness.bands[0].ratio": 0.7})
    results = sweep({"base": base, "richer": richer}, paths=20, seed=4, threads=1)
    alone = run(base, paths=20, seed=4)
    pa, ps = alone.paths, results["base"].paths
    fcols = [c for c in pa.columns if c.startswith(("factor_", "event_", "draw_", "frequency_m"))]
    assert "event_epidemic" in fcols and list(ps.columns) == list(pa.columns)
    for c in fcols:
        np.testing.assert_array_equal(ps[c].to_numpy(), pa[c].to_numpy())
        # common random numbers: a rules-only variant draws the same factors
        np.testing.assert_array_equal(results["richer"].paths[c].to_numpy(), pa[c].to_numpy())
    sa, ss = alone.summary(), results["base"].summary()
    for c in ("claims_var_systematic", "claims_var_process"):
        np.testing.assert_array_equal(ss[c].to_numpy(), sa[c].to_numpy())
    assert (ss["claims_var_systematic"] > 0).all()


def test_off_sweep_has_no_factors():
    r = sweep({"a": scenario(None)}, paths=4, seed=1, threads=1)["a"]
    assert r.factors is None


def test_one_setter_for_sweep_and_with_values():
    s = scenario(SECTION, 2)
    raw = scenario_table(s)
    path = "layers.serious_illness.bands[0].ratio"
    assert validate_raw(set_path(raw, path, 0.7), "x") == s.with_values({path: 0.7})
    with pytest.raises(FundsimError, match=r"^parameter 'layers.nope.x': the scenario has no"):
        set_path(raw, "layers.nope.x", 1)
    with pytest.raises(FundsimError, match=r"^key path 'layers.nope.x': the scenario has no"):
        s.with_values({"layers.nope.x": 1})


@pytest.mark.slow
def test_dask_workers_draw_the_same_factors():
    from simulation.engine.distributed import dask_runner

    s = scenario(SECTION, 2)
    alone = run(s, paths=40, seed=3)
    with dask_runner(workers=2, blocks_per_task=1) as runner:
        spread = run(s, paths=40, seed=3, runner=runner)
    for group in ("sims", "money"):
        for name, a in getattr(alone, group).items():
            np.testing.assert_array_equal(a, getattr(spread, group)[name], err_msg=name)
