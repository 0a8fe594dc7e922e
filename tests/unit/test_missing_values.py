"""One rule for missing values in every stage, and what a model was not shown answered, not refused."""

import numpy as np
import pytest

from mlops.data import missing
from mlops.data.preparation import BaselineBuilder
from mlops.data.spec import DriftRules, ModelSpec
from mlops.monitoring import drift
from mlops.monitoring.retraining import nothing_new
from mlops.serving.records import InvalidRecords, RecordSchema
from mlops_cli import records as cli_records

SPEC = ModelSpec.model_validate(
    {
        "target": {"name": "y", "task": "binary", "classes": ["0", "1"]},
        "features": [
            {"name": "length", "type": "numeric", "nullable": True, "profile": {"minimum": 30, "maximum": 60}},
            {"name": "sex", "type": "categorical", "nullable": True, "profile": {"categories": ["FEMALE", "MALE"], "distinct": 2}},
            {"name": "mass", "type": "numeric", "maximum": 7000},
        ],
    }
)


def test_the_cli_and_the_platform_know_the_same_markers():
    assert cli_records.MISSING_MARKERS == missing.DEFAULT_MARKERS
    spec = {"data": {"missing_values": ["?"]}}
    assert cli_records.missing_markers(spec) == missing.of_spec(spec)


@pytest.mark.parametrize("value", [None, "", "NA", "na", " N/A ", "null", "NaN"])
def test_every_marker_is_missing_and_a_word_or_a_number_is_not(value):
    assert missing.is_missing(value)
    assert not missing.is_missing("None") and not missing.is_missing(0) and not missing.is_missing("MALE")


def test_the_cli_reads_a_csv_with_na_markers_as_the_model_trained_on_it():
    text = "length,sex,mass,y\n39.1,MALE,3750,0\nNA,NA,3800,1\n"
    records = cli_records.parse_records(text, SPEC.model_dump(mode="json"))
    assert records == [{"length": 39.1, "sex": "MALE", "mass": 3750.0}, {"length": None, "sex": None, "mass": 3800.0}]


def test_serving_answers_values_beyond_the_profile_with_warnings_and_refuses_only_rules():
    schema = RecordSchema(SPEC.model_dump(mode="json"))
    records = [
        {"length": 75.0, "sex": "UNKNOWN", "mass": 3000},
        {"length": "NA", "sex": "NA", "mass": 3000},
        {"length": 45.0, "sex": "MALE", "mass": 3000},
    ]
    inputs = schema.inputs(records)  # no error: the profile does not refuse
    assert np.isnan(inputs["numeric"][1][0]) and inputs["categorical"][1][0] == ""
    assert schema.warnings(records) == [
        {"record": 0, "feature": "length", "message": "75.0 is above the largest value the data showed, 60.0"},
        {"record": 0, "feature": "sex", "message": "'UNKNOWN' is a category the data did not show"},
    ]
    with pytest.raises(InvalidRecords) as refused:  # a stated maximum is a rule
        schema.inputs([{"length": 40.0, "sex": "MALE", "mass": 9000}])
    assert refused.value.errors == [{"loc": ["body", "records", 0, "mass"], "msg": "9000 is above the maximum 7000.0"}]


def test_missing_values_are_nulls_on_both_sides_of_a_drift_test():
    # Given a training split where a tenth of `sex` is missing (normalized to "" by validation)
    builder = BaselineBuilder(SPEC, 1)
    rows = [[str(40 + i % 20), "" if i % 10 == 0 else ["FEMALE", "MALE"][i % 2], "4000", str(i % 2)] for i in range(2000)]
    for row in rows:
        builder.add(row)
    baseline = builder.build()
    assert "" not in baseline["features"]["sex"]["frequencies"] and baseline["features"]["sex"]["nulls"] == 200
    # When the same rows come back as traffic, missing values sent as R writes them
    check = drift.DriftCheck(SPEC, baseline, None)
    check.add_all(({"length": float(r[0]), "sex": r[1] or "NA", "mass": 4000.0}, {}) for r in rows)
    report = check.report(DriftRules(min_samples=100), 0.05)
    # Then nothing drifts, and the missing values are counted as nulls
    assert report["features"]["sex"]["verdict"] == "no drift", report["features"]["sex"]
    assert report["features"]["sex"]["nulls"] == 200


def test_an_old_baseline_that_counted_missing_as_a_category_reads_it_as_nulls():
    column = drift.CategoricalColumn({"frequencies": {"": 5, "a": 10}, "nulls": 5})
    assert column.baseline == {"a": 10}


def test_retraining_needs_something_the_champion_was_not_trained_on():
    champion, latest = {"dataset_version": "abc" * 20}, {"version": "abc" * 20}
    assert "no data the champion was not trained on" in nothing_new(champion, latest, None)
    assert nothing_new(champion, {"version": "def" * 20}, None) is None
    assert "no labelled feedback" in nothing_new(champion, latest, 0)
    assert nothing_new(champion, latest, 12) is None


def test_a_missing_category_is_the_same_column_for_the_multivariate_check_in_splits_and_traffic():
    from mlops.monitoring.multivariate import Featurizer

    featurizer = Featurizer([], {"sex": ["MALE", "FEMALE", ""]}, [0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    served = featurizer.raw({"sex": ["MALE", None]}, 2)  # drift turns "NA" into None
    assert served.tolist() == featurizer.raw({"sex": ["MALE", ""]}, 2).tolist() == [[1, 0, 0], [0, 0, 1]]
