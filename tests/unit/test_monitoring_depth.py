"""Monitoring past per-feature drift: the multivariate check, alarms set by the expected time between
false alarms (simulated), the label-free estimate's statistics, and live data quality."""

import numpy as np
import pytest

from mlops.data.preparation import BaselineBuilder
from mlops.data.spec import DataQualityRules, ModelSpec
from mlops.monitoring import data_quality, drift, drift_report, estimation, multivariate

FEATURES = ["x0", "x1", "x2", "x3"]


def spec(**monitoring) -> ModelSpec:
    features = [{"name": name, "type": "numeric", "nullable": True} for name in FEATURES]
    features.append({"name": "plan", "type": "categorical"})
    target = {"name": "y", "task": "binary", "classes": ["0", "1"]}
    return ModelSpec.model_validate({"target": target, "features": features, "monitoring": monitoring})


def rows(rng: np.random.Generator, n: int, correlation: float = 0.9) -> dict:
    """x0 and x1 standard normal with this correlation; x2, x3 independent; plan a category."""
    x0 = rng.normal(size=n)
    x1 = correlation * x0 + np.sqrt(1 - correlation**2) * rng.normal(size=n)
    return {"x0": x0, "x1": x1, "x2": rng.normal(size=n), "x3": rng.normal(size=n), "plan": rng.choice(["basic", "pro"], n).tolist()}


def baseline_of(model: ModelSpec, columns: dict) -> dict:
    builder = BaselineBuilder(model, 1)
    for i in range(len(columns["x0"])):
        builder.add([repr(float(columns[name][i])) for name in FEATURES] + [columns["plan"][i], "0"])
    return builder.build()


@pytest.fixture(scope="module")
def reference():
    rng, model = np.random.default_rng(1), spec()
    train, validation, test = rows(rng, 5_000), rows(rng, 2_000), rows(rng, 2_000)
    return baseline_of(model, train), multivariate.fit(model, validation, 2_000, test, 2_000)


def checked(reference, columns: dict, alpha: float = 0.05, model: ModelSpec | None = None) -> dict:
    baseline, together = reference
    check = drift.DriftCheck(model or spec(), baseline, None, together)
    check.add_columns(columns)
    return check.report((model or spec()).monitoring.drift, alpha)


def test_a_flipped_correlation_is_caught_by_the_multivariate_check_only(reference):
    """x0 and x1 keep their marginals (standard normal) but move against each other now."""
    flipped = checked(reference, rows(np.random.default_rng(2), 2_000, correlation=-0.9))
    assert {name: r["verdict"] for name, r in flipped["features"].items()} == dict.fromkeys([*FEATURES, "plan"], drift.NO_DRIFT)
    assert flipped["multivariate"]["verdict"] == drift.DRIFT and flipped["multivariate_drift"] == drift.DRIFT
    assert flipped["verdict"] == drift.DRIFT
    assert flipped["multivariate"]["effect_size"] > 0.5  # the mean reconstruction error rises by more than half
    same = checked(reference, rows(np.random.default_rng(3), 2_000))
    assert same["multivariate"]["verdict"] == drift.NO_DRIFT and same["verdict"] == drift.NO_DRIFT
    assert abs(same["multivariate"]["effect_size"]) < 0.05


def test_drift_false_alarms_come_as_rarely_as_false_alarm_days_asks(reference):
    """Hourly checks with one false alarm a day asked for (alpha = 1/24 per check): 30 simulated
    days without drift, every test of the family counted significant at alpha whatever its effect
    (the effect thresholds only make alarms rarer). The mean time between alarms is at least a day."""
    model = spec(false_alarm_days=1, check_every_minutes=60)
    alpha = model.monitoring.alpha_per_check()
    assert alpha == pytest.approx(1 / 24)
    rng, checks = np.random.default_rng(4), 24 * 30
    alarms = 0
    for _ in range(checks):
        report = checked(reference, rows(rng, 600), alpha, model)
        tests = [*report["features"].values(), report["multivariate"]]
        alarms += any(t["p_value_adjusted"] < alpha for t in tests)
    days_between = 30 / max(alarms, 1)
    print(f"{alarms} false alarms in {checks} hourly checks: one every {days_between:.2f} days (asked: 1)")
    # Binomial(720, 1/24): 30 expected, sd 5.4; Holm keeps the family at most alpha.
    assert alarms <= 30 + 2.5 * 5.4


def test_the_per_check_level_follows_the_interval_and_the_days_asked():
    assert spec().monitoring.alpha_per_check() == pytest.approx(60 / (30 * 24 * 60))  # hourly, a false alarm a month
    assert spec(check_every_minutes=0).monitoring.alpha_per_check() == pytest.approx(15 / (30 * 24 * 60))  # every schedule tick
    assert spec(drift={"alpha": 0.01}).monitoring.alpha_per_check() == 0.01  # a fixed level, as before


def calibrated_traffic(rng: np.random.Generator, n: int, low: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities of the positive class, predictions from them, and labels drawn from them:
    a perfectly calibrated binary classifier, whose confidence spreads from `low` to 1."""
    confidence = rng.uniform(low, 1.0, n)
    positive = np.where(rng.random(n) < 0.5, confidence, 1 - confidence)
    probabilities = np.column_stack([1 - positive, positive])
    predicted = (positive >= 0.5).astype(int)
    labels = (rng.random(n) < positive).astype(int)
    return probabilities, predicted, labels


def test_the_confidence_based_estimate_matches_the_realized_metrics_of_a_calibrated_model():
    rng = np.random.default_rng(5)
    probabilities, predicted, labels = calibrated_traffic(rng, 20_000)
    estimate = estimation.expected_metrics(probabilities, predicted, probabilities[:, 1])
    from sklearn import metrics

    realized = {
        "accuracy": metrics.accuracy_score(labels, predicted),
        "f1": metrics.f1_score(labels, predicted),
        "roc_auc": metrics.roc_auc_score(labels, probabilities[:, 1]),
    }
    for metric, value in realized.items():
        assert estimate[metric] == pytest.approx(value, abs=0.01), metric


def test_the_interval_holds_the_realized_metric_about_95_times_in_100():
    rng, inside, runs = np.random.default_rng(6), {"accuracy": 0, "f1": 0, "roc_auc": 0}, 150
    for run in range(runs):
        probabilities, predicted, labels = calibrated_traffic(rng, 400)
        estimate = estimation.confidence_estimate(probabilities, predicted, probabilities[:, 1], seed=run)
        from sklearn import metrics

        realized = {
            "accuracy": metrics.accuracy_score(labels, predicted),
            "f1": metrics.f1_score(labels, predicted),
            "roc_auc": metrics.roc_auc_score(labels, probabilities[:, 1]),
        }
        for metric, value in realized.items():
            low, high = estimate[metric]["interval"]
            inside[metric] += low <= value <= high
    print({metric: count / runs for metric, count in inside.items()})
    assert all(0.88 <= count / runs <= 0.99 for count in inside.values()), inside


def test_the_estimate_falls_when_traffic_moves_where_the_model_is_unsure():
    """Traffic shifts towards the decision boundary: the realized accuracy falls, and so does the
    estimate, which also names the fall significant."""
    rng = np.random.default_rng(7)
    reference = {"method": "cbpe", "reference": {"accuracy": 0.75, "f1": 0.75, "roc_auc": 0.83}, "reference_sd": {"accuracy": 0.01}}
    model = ModelSpec.model_validate({**spec().model_dump(), "gates": {"metric": "accuracy"}})
    probabilities, predicted, labels = calibrated_traffic(rng, 2_000, low=0.5)
    steady = estimation.verdict(
        model, reference, estimation.confidence_estimate(probabilities, predicted, probabilities[:, 1], 1), 2_000, 0.01
    )
    assert steady["verdict"] == estimation.HEALTHY
    probabilities, predicted, labels = calibrated_traffic(rng, 2_000, low=0.5)
    unsure = probabilities[:, 1] * 0.5 + 0.25  # confidence squeezed towards 1/2, labels drawn from it
    probabilities = np.column_stack([1 - unsure, unsure])
    labels = (rng.random(2_000) < unsure).astype(int)
    shifted = estimation.verdict(model, reference, estimation.confidence_estimate(probabilities, predicted, unsure, 1), 2_000, 0.01)
    realized = float(np.mean(labels == predicted))
    low, high = shifted["metrics"]["accuracy"]["interval"]
    assert shifted["verdict"] == estimation.DECAYED and realized < 0.7 and low <= realized <= high


def test_estimated_performance_false_alarms_stay_below_alpha():
    """No shift, max_decay 0: only the significance keeps alarms away; at alpha 0.05 per check
    300 checks raise at most about 5% (the spread it uses is the realized metric's, the larger)."""
    rng, alpha = np.random.default_rng(8), 0.05
    model = ModelSpec.model_validate(
        {**spec().model_dump(), "gates": {"metric": "accuracy"}, "monitoring": {"performance": {"max_decay": 0}}}
    )
    probabilities, predicted, _ = calibrated_traffic(rng, 2_000)
    at_training = estimation.confidence_estimate(probabilities, predicted, probabilities[:, 1], 0)
    reference = {
        "method": "cbpe",
        "reference": {m: e["estimate"] for m, e in at_training.items()},
        "reference_sd": {m: e["sd"] for m, e in at_training.items()},
    }
    alarms = 0
    for check in range(300):
        probabilities, predicted, _ = calibrated_traffic(rng, 500)
        estimated = estimation.confidence_estimate(probabilities, predicted, probabilities[:, 1], check)
        alarms += estimation.verdict(model, reference, estimated, 500, alpha)["verdict"] == estimation.DECAYED
    print(f"{alarms} of 300 checks alarmed at alpha {alpha}")
    assert alarms <= 300 * alpha


def test_data_quality_flags_missing_values_new_ranges_and_unseen_categories(reference):
    baseline, _ = reference
    model = spec()
    check = drift.DriftCheck(model, baseline, None)
    columns = rows(np.random.default_rng(9), 1_000)
    columns["x0"][:100] = np.nan  # 10% missing, none in training
    columns["x1"][:30] = 50.0  # 3% far outside the training range
    columns["plan"][:20] = ["enterprise"] * 20  # 2% a plan training never saw
    check.add_columns(columns)
    report = data_quality.report(check.columns, check.rows, baseline["features"], DataQualityRules())
    assert report["verdict"] == data_quality.ISSUES
    assert report["features_with_issues"] == ["plan", "x0", "x1"]
    assert report["features"]["x0"]["issues"] == ["missing"] and report["features"]["x0"]["missing_rate"] == pytest.approx(0.1)
    assert report["features"]["x1"]["out_of_range_rate"] == pytest.approx(0.03)
    assert report["features"]["plan"]["unseen_rate"] == pytest.approx(0.02)
    lenient = data_quality.report(
        check.columns,
        check.rows,
        baseline["features"],
        DataQualityRules(max_missing_rate=0.2, max_out_of_range_rate=0.05, max_unseen_rate=0.05),
    )
    assert lenient["verdict"] == data_quality.OK


def test_the_report_page_shows_the_estimate_all_features_together_data_quality_and_the_trend(reference):
    baseline, _ = reference
    columns = rows(np.random.default_rng(10), 1_000, correlation=-0.9)
    columns["plan"][:50] = ["<script>"] * 50
    found = checked(reference, columns)
    check = drift.DriftCheck(spec(), baseline, None)
    check.add_columns(columns)
    quality = data_quality.report(check.columns, check.rows, baseline["features"], DataQualityRules())
    estimate = {"estimate": 0.81, "interval": [0.78, 0.84], "sd": 0.015}
    estimated = {"method": "cbpe", "metric": "accuracy", "n": 1_000, "reference": {"accuracy": 0.9}, "metrics": {"accuracy": estimate}}
    estimated |= {"max_decay": 0.05, "alpha": 0.001, "decay": 0.09, "p_value": 1e-9, "verdict": estimation.DECAYED}
    report = {"model": "m", "version": 3, "checked_at": "2026-12-02T10:00:00", "window_start": "2026-12-02T09:00:00"}
    report |= {"drift": found, "data_quality": quality, "performance": {}, "estimated_performance": estimated}
    recent = [{"checked_at": "2026-12-02T10:00:00", "drift": "drift", "multivariate": "drift", "data_quality": "issues"}]
    recent[0]["estimate"] = {"metric": "accuracy", "estimate": 0.81, "interval": [0.78, 0.84], "realized": 0.8}
    page = drift_report.render(report, recent)
    assert "Estimated quality before labels (confidence-based (CBPE)): decayed" in page and "0.78 to 0.84" in page
    assert "Multivariate drift (all features together): drift" in page
    assert "Data quality: issues" in page and "unseen" in page and "&lt;script&gt;" in page  # a category is shown escaped
    assert "accuracy 0.81 [0.78, 0.84] (0.8)" in page and "<script>" not in page
