"""Live quality from feedback: the metrics match scikit-learn's, and decay is judged per version."""

import numpy as np
import pytest
from sklearn import metrics

from mlops.data.spec import ModelSpec
from mlops.monitoring import performance
from mlops.serving.capture_reader import Outcome
from tests.unit.specs import CHURN_SPEC


def outcomes(n: int, accuracy: float, version: int = 1, seed: int = 0) -> list[Outcome]:
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(n):
        actual = rng.choice(["no", "yes"])
        right = rng.random() < accuracy
        label = actual if right else ("no" if actual == "yes" else "yes")
        p_yes = float(np.clip(rng.normal(0.7 if label == "yes" else 0.3, 0.15), 0, 1))
        found.append(Outcome(version, "champion", {"label": label, "probabilities": {"no": 1 - p_yes, "yes": p_yes}}, actual, "t", {}))
    return found


def test_binary_metrics_match_scikit_learn():
    joined = outcomes(500, 0.8)
    live = performance.live_metrics(ModelSpec.model_validate(CHURN_SPEC), joined)
    actual = [o.actual for o in joined]
    predicted = [o.predicted["label"] for o in joined]
    scores = [o.predicted["probabilities"]["yes"] for o in joined]
    assert live["accuracy"] == pytest.approx(metrics.accuracy_score(actual, predicted))
    assert live["f1"] == pytest.approx(metrics.f1_score(actual, predicted, pos_label="yes"))
    assert live["roc_auc"] == pytest.approx(metrics.roc_auc_score([a == "yes" for a in actual], scores))


def test_a_version_below_its_training_accuracy_by_more_than_the_allowance_has_decayed():
    spec = ModelSpec.model_validate({**CHURN_SPEC, "gates": {"metric": "accuracy"}, "monitoring": {"performance": {"min_samples": 100}}})
    joined = outcomes(400, 0.62, version=1) + outcomes(400, 0.9, version=2, seed=1) + outcomes(20, 0.5, version=3, seed=2)
    result = performance.check(spec, joined, {1: {"accuracy": 0.9}, 2: {"accuracy": 0.9}, 3: {"accuracy": 0.9}})
    verdicts = {version: entry["verdict"] for version, entry in result["versions"].items()}
    assert verdicts == {"1": "decayed", "2": "healthy", "3": "not enough data"} and result["verdict"] == "decayed"
