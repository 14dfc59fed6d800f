"""Parameter uncertainty: fit -> fragment with the covariance -> the engine draws the parameters."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from simulation.claims_data import read_claims, read_exposure
from simulation.engine.factors import draw_factors
from simulation.fit import fit_claims, to_fragment
from simulation.scenario import validate_raw
from tests.scenario_variants import base_raw
from tests.test_fit import write_claims_files


@pytest.mark.slow
def test_fit_covariance_to_engine_draws(tmp_path):
    rng = np.random.default_rng(5)
    claims_path, exposure_path, _, _ = write_claims_files(tmp_path, rng, persons=3000)
    result = fit_claims(read_claims(claims_path), read_exposure(exposure_path))
    frag = tomllib.loads(to_fragment(result, parameter_uncertainty=True))
    pu = frag["systematic"]["parameters"]["inpatient"]
    assert pu["names"][0] == "frequency.rate" and "severity.city.mean" in pu["names"]
    raw = base_raw()
    raw["systematic"] = {"enabled": True, "parameters": {"inpatient": pu}}
    s = validate_raw(raw, "x.toml")
    n = 4000
    f = draw_factors(s, 3, range(n))
    fit = result.claim_types["inpatient"]
    rate = fit.frequency.default_rate
    city = fit.severity.levels["city"].mean_yuan
    for key, est in (("frequency.rate", rate), ("severity.city.mean", city)):
        theta = f.parameters[f"parameter.inpatient.{key}"]
        # the drawn log parameter's spread is the fit's relative SE (4 SE of a sample sd)
        assert abs(theta.std(ddof=1) / (est.se / est.value) - 1) < 4 / np.sqrt(2 * n)
    # and the engine's multipliers are exp(theta): the drawn rate is rate * multiplier
    np.testing.assert_allclose(
        f.frequency[:, 0, 0, 0, 0], np.exp(f.parameters["parameter.inpatient.frequency.rate"])
    )
