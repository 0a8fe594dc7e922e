"""Splits are deterministic and stratified; the baseline describes the training split."""

import io
import random

from mlops.data.preparation import SPLITS, split_rows
from tests.unit.specs import churn_spec


def rows(n: int, seed: int = 3) -> list[list[str]]:
    rng = random.Random(seed)
    return [
        [
            repr(float(rng.randint(0, 100))),
            repr(rng.uniform(0, 100)),
            rng.choice(["basic", "plus"]),
            "yes" if i % 10 == 0 else "no",
        ]
        for i in range(n)
    ]


def split(data: list[list[str]]):
    spec = churn_spec()
    labels = {"no": sum(r[-1] == "no" for r in data), "yes": sum(r[-1] == "yes" for r in data)}
    files = {name: io.StringIO() for name in SPLITS}
    counts, baseline = split_rows(spec, {"labels": labels, "rows": {"valid": len(data)}}, iter(data), files)
    return counts, baseline, {name: f.getvalue() for name, f in files.items()}


def test_the_same_data_and_seed_give_the_same_split():
    data = rows(1000)
    assert split(data) == split(data)


def test_every_class_keeps_its_share_in_every_split():
    counts, _, contents = split(rows(1000))
    assert counts == {"train": 700, "validation": 150, "test": 150}
    for name, text in contents.items():
        lines = text.splitlines()
        assert lines[0] == "tenure_months,monthly_charges,plan,churned"
        positives = sum(line.endswith(",yes") for line in lines[1:])
        assert positives == {"train": 70, "validation": 15, "test": 15}[name]


def test_the_baseline_has_decile_bins_and_frequencies_of_the_training_split():
    counts, baseline, _ = split(rows(1000))
    tenure = baseline["features"]["tenure_months"]
    assert len(tenure["bin_edges"]) == 9 and sum(tenure["bin_counts"]) == counts["train"] == tenure["count"]
    assert max(tenure["bin_counts"]) < 0.2 * counts["train"]  # deciles: no bin holds much more than a tenth
    assert sum(baseline["features"]["plan"]["frequencies"].values()) == counts["train"]
    assert baseline["target"]["frequencies"] == {"no": 630, "yes": 70}


def test_the_smallest_class_validation_accepts_gets_a_row_in_every_split():
    from mlops.data.preparation import assignments
    from mlops.data.validation import MIN_ROWS_PER_CLASS

    for seed in range(20):
        split = assignments({"rare": MIN_ROWS_PER_CLASS}, seed)["rare"]
        assert set(split.tolist()) == {0, 1, 2}
    assert 1 not in assignments({"rare": MIN_ROWS_PER_CLASS - 1}, 0)["rare"].tolist()
