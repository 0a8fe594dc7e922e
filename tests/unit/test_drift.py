"""The drift check's statistics against scipy, and its verdicts on traffic with and without drift."""

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from mlops.data.preparation import numeric_profile
from mlops.data.spec import DriftRules, ModelSpec
from mlops.monitoring import drift

N_FEATURES = 20
CATEGORIES = ["a", "b", "c", "d"]
CATEGORY_SHARES = [0.4, 0.3, 0.2, 0.1]


@pytest.mark.parametrize(("x", "df"), [(0.5, 1), (3.84, 1), (10.0, 3), (40.0, 20), (150.0, 99), (0.01, 5)])
def test_chi_square_survival_matches_scipy(x, df):
    assert drift.chi_square_survival(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-9, abs=1e-14)


@pytest.mark.parametrize("x", [0.2, 0.5, 0.8, 1.0, 1.36, 2.0, 3.0])
def test_kolmogorov_survival_matches_scipy(x):
    assert drift.kolmogorov_survival(x) == pytest.approx(stats.kstwobign.sf(x), abs=1e-9)


def test_binned_ks_is_close_to_the_exact_two_sample_test():
    rng = np.random.default_rng(1)
    baseline, current = rng.normal(size=20_000), rng.normal(0.05, 1, 5_000)
    profile = numeric_profile(baseline)
    column = drift.NumericColumn(profile)
    column.add_array(current)
    result = column.compare()
    exact = stats.ks_2samp(baseline, current)
    assert result["statistic"] == pytest.approx(exact.statistic, abs=0.01)
    assert result["p_value"] == pytest.approx(exact.pvalue, rel=0.5, abs=0.01)


def test_jensen_shannon_matches_scipy():
    p, q = np.array([40.0, 30, 20, 10]), np.array([10.0, 20, 30, 40])
    assert drift.jensen_shannon(p, q) == pytest.approx(distance.jensenshannon(p, q))


def test_holm_adjusts_step_down_and_bonferroni_multiplies():
    p = [0.01, 0.04, 0.03, 0.5]
    assert drift.correct(p, "bonferroni") == pytest.approx([0.04, 0.16, 0.12, 1.0])
    assert drift.correct(p, "holm") == pytest.approx([0.04, 0.09, 0.09, 0.5])


def spec() -> ModelSpec:
    features = [{"name": f"x{i}", "type": "numeric"} for i in range(N_FEATURES - 1)]
    features.append({"name": "segment", "type": "categorical", "categories": CATEGORIES})
    return ModelSpec.model_validate({"target": {"name": "y", "task": "binary", "classes": ["0", "1"]}, "features": features})


def sample(rng: np.random.Generator, rows: int, shifted: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    shifted = shifted or {}
    columns = {f"x{i}": rng.normal(shifted.get(f"x{i}", 0.0), 1.0, rows) for i in range(N_FEATURES - 1)}
    shares = [0.1, 0.2, 0.3, 0.4] if "segment" in shifted else CATEGORY_SHARES
    columns["segment"] = rng.choice(CATEGORIES, rows, p=shares)
    return columns


BASELINE_RNG = np.random.default_rng(7)
REFERENCE = sample(BASELINE_RNG, 50_000)
BASELINE = {
    "features": {
        **{f"x{i}": numeric_profile(REFERENCE[f"x{i}"]) for i in range(N_FEATURES - 1)},
        "segment": {"type": "categorical", "frequencies": dict(zip(*np.unique(REFERENCE["segment"], return_counts=True), strict=True))},
    }
}
ALPHA = 0.05  # a fixed level per check, as `monitoring.drift.alpha` sets it
PREDICTIONS = {"type": "categorical", "frequencies": {"0": 500, "1": 500}}


def check(columns: dict[str, np.ndarray], rules: DriftRules) -> dict:
    rows = len(columns["x0"])
    names = list(columns)
    table = [dict(zip(names, values, strict=True)) for values in zip(*(columns[n].tolist() for n in names), strict=True)]
    labels = ["0" if i % 2 else "1" for i in range(rows)]
    return (
        drift.DriftCheck(spec(), BASELINE, PREDICTIONS)
        .add_all((r, {"label": y}) for r, y in zip(table, labels, strict=True))
        .report(rules, ALPHA)
    )


def test_without_drift_no_check_raises_an_alarm_and_the_tests_alone_keep_alpha():
    """200 checks of 2,000 rows drawn like the training data: the verdict is never drift, and even
    without the effect-size thresholds the corrected tests reject in about alpha of the checks."""
    rng, rules = np.random.default_rng(11), DriftRules(min_samples=500)
    checks = [check(sample(rng, 2_000), rules) for _ in range(200)]
    assert sum(c["verdict"] == drift.DRIFT for c in checks) == 0
    significant = sum(any((f["p_value_adjusted"] or 1) < ALPHA for f in c["features"].values()) for c in checks)
    assert significant / len(checks) <= 0.08


def test_a_shift_in_a_few_features_flags_exactly_those():
    rng = np.random.default_rng(12)
    report = check(sample(rng, 5_000, shifted={"x3": 0.8, "x7": -0.8, "segment": 1}), DriftRules())
    assert report["verdict"] == drift.DRIFT
    assert report["drifted_features"] == ["segment", "x3", "x7"]
    assert report["features"]["x3"]["effect_size"] > 0.2 and report["features"]["x0"]["verdict"] == drift.NO_DRIFT


def test_too_few_rows_is_not_enough_data_rather_than_a_guess():
    report = check(sample(np.random.default_rng(13), 100, shifted={"x1": 3.0}), DriftRules(min_samples=500))
    assert report["verdict"] == drift.NOT_ENOUGH_DATA
    assert {f["verdict"] for f in report["features"].values()} == {drift.NOT_ENOUGH_DATA}


def test_prediction_drift_alone_makes_the_verdict_drift():
    rng = np.random.default_rng(14)
    columns = sample(rng, 3_000)
    names = list(columns)
    table = [dict(zip(names, values, strict=True)) for values in zip(*(columns[n].tolist() for n in names), strict=True)]
    report = drift.DriftCheck(spec(), BASELINE, PREDICTIONS).add_all((r, {"label": "1"}) for r in table).report(DriftRules(), ALPHA)
    assert report["drifted_features"] == [] and report["prediction_drift"] == drift.DRIFT and report["verdict"] == drift.DRIFT


def test_batches_of_records_give_the_same_report_as_record_by_record():
    rng = np.random.default_rng(15)
    columns = sample(rng, 3_000, shifted={"x2": 0.5})
    names = list(columns)
    table = [dict(zip(names, values, strict=True)) for values in zip(*(columns[n].tolist() for n in names), strict=True)]
    table[5]["x1"] = None
    outputs = [{"label": "1"} if i % 3 else {} for i in range(len(table))]
    one_by_one = drift.DriftCheck(spec(), BASELINE, PREDICTIONS)
    for record, output in zip(table, outputs, strict=True):  # truly one record at a time
        one_by_one.add_records([record], [output])
    batched = drift.DriftCheck(spec(), BASELINE, PREDICTIONS)
    batched.add_records(table[:1000], outputs[:1000])
    batched.add_records(table[1000:], outputs[1000:])
    streamed = drift.DriftCheck(spec(), BASELINE, PREDICTIONS).add_all(zip(table, outputs, strict=True))
    assert batched.report(DriftRules(), ALPHA) == one_by_one.report(DriftRules(), ALPHA) == streamed.report(DriftRules(), ALPHA)


def test_a_version_without_a_baseline_says_so_instead_of_no_drift():
    report = drift.DriftCheck(spec(), {"features": {}}, None).add_all(({"x0": 1.0}, {}) for _ in range(1000)).report(DriftRules(), ALPHA)
    assert report["verdict"] == drift.NO_BASELINE and report["features"] == {}


def test_the_verdict_needs_min_drifted_features_features_to_drift():
    # Two shifted features: drift when two are enough, no drift when the spec asks for three
    rng = np.random.default_rng(21)
    columns = sample(rng, 2_000, shifted={"x1": 0.8, "x2": 0.8})
    two = check(columns, DriftRules(min_drifted_features=2))
    assert two["verdict"] == "drift" and len(two["drifted_features"]) >= 2
    three = check(columns, DriftRules(min_drifted_features=len(two["drifted_features"]) + 1))
    assert three["drifted_features"] == two["drifted_features"] and three["verdict"] == "no drift"
