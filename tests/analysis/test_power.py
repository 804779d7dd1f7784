"""Power simulation against hand-worked limits of the exact Wilcoxon test and the beta moments."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from export_files import write_export
from scipy.stats import beta

from analysis.__main__ import main
from analysis.power import beta_parameters, simulate_power


def _pilot(human, model, units=40, category="loops"):
    return pd.DataFrame(
        {
            "participant_id": [f"p{i}" for i in range(len(human))],
            "category": category,
            "n_units": units,
            "human_rate": human,
            "model_rate": model,
        }
    )


def test_beta_moments_match_scipy():
    rates, units = np.array([0.1, 0.3, 0.5, 0.2, 0.6]), np.full(5, 200)
    a, b = beta_parameters(rates, units)
    mean, var = beta.stats(a, b, moments="mv")
    assert mean == pytest.approx(rates.mean())
    assert var == pytest.approx(rates.var(ddof=1) - np.mean(rates * (1 - rates) / units))
    assert beta_parameters([0.2, 0.2, 0.2], [50] * 3) is None  # no spread beyond sampling
    assert beta_parameters([0.0, 0.0], [10, 10]) is None


def test_exact_test_limits_power_at_five_participants():
    # humans select 60 % of the units, the model 0: every simulated difference is positive. With 5
    # participants the smallest two-sided exact p is 2 / 2**5 = 0.0625 > 0.05, so power is exactly 0;
    # with 20 it is 2 / 2**20 and every study rejects.
    pilot = _pilot([0.55, 0.6, 0.65, 0.6], [0.0] * 4)
    power = simulate_power(pilot, participants=[5, 6, 20], n_sim=30, seed=1).set_index("n_participants")["power"]
    assert power[5] == 0.0 and power[6] == 1.0 and power[20] == 1.0  # n = 6: 2 / 64 = 0.031 < 0.05


def test_no_difference_rejects_rarely():
    pilot = _pilot([0.3, 0.2, 0.25, 0.35, 0.3], [0.3, 0.2, 0.25, 0.35, 0.3])
    power = simulate_power(pilot, participants=[30], n_sim=200, seed=2)
    assert power["power"].iloc[0] <= 0.12  # a false-positive rate near alpha = 0.05, with simulation noise


def test_power_cli_writes_table_and_plot(tmp_path, random_tables):
    folder = write_export(tmp_path / "export", random_tables)
    result = CliRunner().invoke(
        main, ["power", str(folder), "--participants", "10,40", "--n-sim", "5", "--out", str(tmp_path / "p")]
    )
    assert result.exit_code == 0, result.output
    power = pd.read_csv(tmp_path / "p" / "power.csv")
    assert sorted(power["n_participants"].unique()) == [10, 40] and power["power"].between(0, 1).all()
    assert set(power["category"]) == set(random_tables["units"]["category"]) and (power["n_sim"] == 5).all()
    assert (tmp_path / "p" / "power.png").read_bytes()[:4] == b"\x89PNG"
    bad = CliRunner().invoke(main, ["power", str(folder), "--participants", "10,x"])
    assert bad.exit_code == 2 and "expected comma-separated whole numbers" in bad.output
