"""Validation against the spec: what is a hard failure, what is a warning, what the report says."""

import re

import pytest

from mlops.data.validation import DatasetValidator
from mlops.shared.errors import DatasetRejected
from tests.unit.specs import churn_spec

HEADER = ["tenure_months", "monthly_charges", "plan", "churned"]
GOOD = [
    ["12", "70.5", "basic", "no"],
    ["3", "", "pro", "yes"],
    ["40", "99", "plus", "no"],
    ["7", "20.25", "basic", "yes"],
    ["60", "55", "pro", "no"],
    ["1", "80", "plus", "yes"],
]


def validate(rows, header=HEADER, **rules):
    validator = DatasetValidator(churn_spec(**rules))
    validator.read_header(header)
    kept = [validator.check_row(line, fields) for line, fields in enumerate(rows, start=2)]
    return [k for k in kept if k is not None], validator.report()


def test_good_rows_are_normalized_in_spec_order_and_profiled():
    kept, report = validate(GOOD)
    assert kept[0] == ["12.0", "70.5", "basic", "no"]
    assert kept[1] == ["3.0", "", "pro", "yes"]
    assert report["failures"] == [] and _besides_class_sizes(report) == []
    assert report["rows"] == {"total": 6, "valid": 6, "invalid": 0, "unlabeled": 0, "duplicates": 0}
    assert report["labels"] == {"no": 3, "yes": 3}
    charges = report["columns"]["monthly_charges"]
    assert (charges["nulls"], charges["count"], charges["min"], charges["max"]) == (1, 5, 20.25, 99.0)
    assert report["columns"]["plan"]["top"] == {"basic": 2, "pro": 2, "plus": 2}


def test_columns_may_come_in_any_order_and_extras_are_ignored_with_a_warning():
    header = ["churned", "note", "plan", "monthly_charges", "tenure_months"]
    rows = [[r[3], "n/a", r[2], r[1], r[0]] for r in GOOD]
    kept, report = validate(rows, header=header)
    assert kept == validate(GOOD)[0]
    assert _besides_class_sizes(report) == ["columns not in the spec are ignored: ['note']"]


@pytest.mark.parametrize(
    ("bad_row", "problem"),
    [
        (["-1", "1", "basic", "no"], "-1.0 is below the minimum 0.0"),
        (["601", "1", "basic", "no"], "601.0 is above the maximum 600.0"),
        (["abc", "1", "basic", "no"], "'abc' is not a number"),
        (["inf", "1", "basic", "no"], "not a finite number"),
        (["", "1", "basic", "no"], "is empty but not nullable"),
        (["1", "1", "gold", "no"], "'gold' is not one of"),
        (["1", "1", "basic", "maybe"], "'maybe' is not one of"),
        (["1", "1", "basic"], "3 fields where the header has 4"),
        (["1", "1", '=HYPERLINK("http://x")', "no"], "spreadsheet formula (CSV injection)"),
        (["1", "1", "@SUM(A1)", "no"], "spreadsheet formula (CSV injection)"),
    ],
)
def test_a_few_invalid_rows_are_dropped_with_a_warning_and_an_example(bad_row, problem):
    kept, report = validate(GOOD + [bad_row])
    assert len(kept) == 6 and report["failures"] == []
    assert _besides_class_sizes(report) == ["1 invalid rows were dropped (see examples)"]
    assert problem in report["invalid_examples"][0]["problem"]
    assert report["invalid_examples"][0]["line"] == 8


def test_formula_injection_is_only_suspected_in_text_not_in_negative_numbers():
    spec_rows = [["5", "-0", "basic", "no"]]  # a numeric '-0' is a number, not a formula
    assert validate(GOOD + spec_rows)[1]["rows"]["invalid"] == 0


def test_too_many_invalid_rows_fail_the_file_with_the_first_example():
    _, report = validate(GOOD + [["x", "1", "basic", "no"]] * 3, max_invalid_row_fraction=0.2)
    assert report["failures"] == [
        "3 of 9 rows are invalid, over the 20% allowed (first: line 8, column tenure_months: 'x' is not a number)"
    ]


def test_too_few_rows_a_single_class_and_duplicates_are_reported():
    _, report = validate(GOOD[:3], min_rows=5)
    assert report["failures"] == ["only 3 valid labelled rows; the spec needs at least 5"]
    _, report = validate([r[:3] + ["no"] for r in GOOD])
    assert report["failures"] == ["the target has a single class ['no']: nothing to learn"]
    _, report = validate(GOOD + GOOD[:2])
    assert report["rows"]["duplicates"] == 2 and "2 duplicate rows" in report["warnings"]
    _, report = validate(GOOD * 3)
    assert report["failures"] == ["12 of 18 rows are duplicates, over the 50% allowed"]


@pytest.mark.parametrize("marker", ["", "NA", "n/a", "null", "NaN", " na "])
def test_a_row_without_its_label_is_unlabeled_not_invalid_and_is_left_out(marker):
    # Given the good rows and two whose target is missing (written as R, pandas or a person writes it)
    rows = GOOD + [["5", "10", "pro", marker], ["6", "11", "basic", marker]]
    # When validated
    kept, report = validate(rows)
    # Then they are neither kept nor invalid: counted apart, said in a warning, and the file passes
    assert kept == validate(GOOD)[0]
    assert report["rows"] == {"total": 8, "valid": 6, "invalid": 0, "unlabeled": 2, "duplicates": 0}
    assert report["failures"] == [] and "2 rows have no 'churned': left out of training and evaluation" in report["warnings"]


def test_too_few_labelled_rows_fail_saying_how_many_have_no_label():
    _, report = validate(GOOD[:3] + [["5", "10", "pro", "NA"]] * 4, min_rows=5)
    assert report["failures"] == ["only 3 valid labelled rows (4 more have no label); the spec needs at least 5"]


def test_missing_markers_are_one_rule_with_the_spec_adding_its_own():
    # NA, N/A, null and NaN are missing in a nullable feature, in any case; a spec adds "-" and "?"
    rows = [["1", m, "pro", "no"] for m in ("NA", "N/A", "null", "NaN", "nan")] + GOOD
    kept, report = validate(rows)
    assert [k[1] for k in kept[:5]] == [""] * 5 and report["rows"]["invalid"] == 0
    kept, report = validate([["1", "?", "pro", "no"], ["2", "-", "plus", "no"]] + GOOD, missing_values=["?", "-"])
    assert [k[1] for k in kept[:2]] == ["", ""] and report["rows"]["invalid"] == 0
    # and "None" is a value, not a marker: in a numeric column it is not a number
    _, report = validate([["1", "None", "pro", "no"]] + GOOD)
    assert report["invalid_examples"][0]["problem"] == "'None' is not a number"


def test_a_header_only_file_fails():
    _, report = validate([])
    assert report["failures"] == ["the file has a header but no data rows"]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (["tenure_months", "monthly_charges", "plan"], "the target column 'churned' is missing"),
        (["tenure_months", "plan", "churned"], "required columns are missing: ['monthly_charges']"),
        (["plan", "plan", "tenure_months", "monthly_charges", "churned"], "repeats a column name"),
    ],
)
def test_header_problems_fail_at_once(header, reason):
    validator = DatasetValidator(churn_spec())
    with pytest.raises(DatasetRejected, match=re.escape(reason)):
        validator.read_header(header)


def test_a_declared_class_missing_from_the_file_fails_with_a_reason_a_person_can_act_on():
    from mlops.data.spec import ModelSpec
    from mlops.data.validation import DatasetValidator

    spec = ModelSpec.model_validate(
        {
            "target": {"name": "y", "task": "multiclass", "classes": ["a", "b", "c"]},
            "features": [{"name": "x", "type": "numeric"}],
            "data": {"min_rows": 5},
        }
    )
    validator = DatasetValidator(spec)
    validator.read_header(["x", "y"])
    for line, label in enumerate(["a"] * 10 + ["b"] * 10, start=2):
        validator.check_row(line, [str(line), label])
    failures = validator.report()["failures"]
    assert any("['c'] have no rows in this file" in failure for failure in failures), failures


def test_a_class_too_small_for_every_split_is_named_in_a_warning():
    from mlops.data.spec import ModelSpec
    from mlops.data.validation import DatasetValidator

    spec = ModelSpec.model_validate(
        {"target": {"name": "y", "task": "binary"}, "features": [{"name": "x", "type": "numeric"}], "data": {"min_rows": 5}}
    )
    validator = DatasetValidator(spec)
    validator.read_header(["x", "y"])
    for line, label in enumerate(["a"] * 30 + ["b"] * 3, start=2):
        validator.check_row(line, [str(line), label])
    report = validator.report()
    assert report["failures"] == [] and any("{'b': 3} have fewer than 7 rows" in w for w in report["warnings"])


def _besides_class_sizes(report: dict) -> list[str]:
    """The warnings a test is about: these small files also warn that their classes are too small to
    reach every split (its own test above)."""
    return [w for w in report["warnings"] if "have fewer than" not in w]


def test_a_row_at_a_rules_bounds_is_valid():
    kept, report = validate(GOOD + [["0", "0", "basic", "no"], ["600", "1", "pro", "yes"]])
    assert report["rows"]["invalid"] == 0 and len(kept) == 8


def test_invalid_rows_exactly_at_the_allowed_fraction_pass_and_one_more_fails():
    # 8 rows, 2 invalid: 25% allowed passes with a warning; 3 of 9 (33%) fails
    at_limit = GOOD + [["x", "1", "basic", "no"], ["-1", "1", "basic", "no"]]
    assert validate(at_limit, max_invalid_row_fraction=0.25)[1]["failures"] == []
    assert validate(at_limit + [["y", "1", "basic", "no"]], max_invalid_row_fraction=0.25)[1]["failures"]


def test_a_binary_target_with_a_third_class_fails():
    from mlops.data.spec import ModelSpec

    spec = ModelSpec.model_validate(
        {"target": {"name": "y", "task": "binary"}, "features": [{"name": "x", "type": "numeric"}], "data": {"min_rows": 5}}
    )
    validator = DatasetValidator(spec)
    validator.read_header(["x", "y"])
    for line, label in enumerate(["a"] * 10 + ["b"] * 10 + ["c"] * 10, start=2):
        validator.check_row(line, [str(line), label])
    assert validator.report()["failures"] == ["a binary target has 3 classes: ['a', 'b', 'c']"]
