"""A draft spec from a sample of the data: types, nullability, ranges, categories, task, personal data."""

import pytest

from local.real_data import TARGET, published
from mlops.data import drafting
from mlops.data.spec import ModelSpec
from mlops.shared.errors import DatasetRejected

SAMPLE = """\ufeffmean radius,plan,contact e-mail,notes,churned
17.99,pro,ann@example.com,,yes
20.57,basic,bob@example.org,late payer,no
19.69,pro,cy@example.net,,yes
"""


def draft_of(text: str, target: str) -> dict:
    header, rows = drafting.sample_rows(drafting.text_lines(text))
    return drafting.draft(header, rows, target)


def test_a_draft_reads_types_ranges_categories_and_the_task_from_the_sample():
    drafted = draft_of(SAMPLE, "churned")
    spec = ModelSpec.model_validate(drafted["spec"])  # registers as it stands
    by_name = {f.name: f for f in spec.features}
    assert list(by_name) == ["mean radius", "plan", "contact e-mail", "notes"]  # the BOM is not part of the first name
    assert (by_name["mean radius"].type, by_name["mean radius"].minimum, by_name["mean radius"].maximum) == ("numeric", 17.99, 20.57)
    assert by_name["plan"].categories == ["basic", "pro"] and not by_name["plan"].nullable
    assert by_name["notes"].nullable
    assert (spec.target.task, spec.target.classes) == ("binary", ["no", "yes"])
    assert drafted["rows_sampled"] == 3


def test_likely_personal_data_is_flagged_by_name_or_by_value():
    drafted = draft_of(SAMPLE.replace("contact e-mail", "reach"), "churned")
    reach = next(f for f in drafted["spec"]["features"] if f["name"] == "reach")
    assert reach["pii"] and any("e-mail addresses" in note for note in drafted["notes"])
    named = draft_of("first_name,y\nAnn,1\nBob,2\n" + "".join(f"Cy{i},{i}\n" for i in range(30)), "y")
    assert named["spec"]["features"][0]["pii"] and named["spec"]["target"]["task"] == "regression"


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "diabetes"])
def test_measurements_of_a_real_data_set_are_not_taken_for_phone_numbers(name):
    # scikit-learn's diabetes features are centred and scaled (-0.0883424954808...): enough digits
    # for a phone number, and the first drafter flagged 9 of its 10 features as personal data.
    data = published(name)
    drafted = draft_of(data.csv().decode(), TARGET)
    assert [f["name"] for f in drafted["spec"]["features"] if f.get("pii")] == []


@pytest.mark.parametrize("number", ["+44 20 7946 0958", "(555) 010-4477", "555.010.4477", "5550104477", "0044-20-7946-0958"])
def test_phone_numbers_as_people_write_them_are_flagged(number):
    drafted = draft_of("reach,y\n" + "".join(f"{number},{i % 2}\n" for i in range(20)), "y")
    assert drafted["spec"]["features"][0].get("pii")


def test_integer_labels_are_classes_and_many_distinct_values_are_a_quantity():
    assert draft_of("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)), "y")["spec"]["target"] == {
        "name": "y",
        "task": "multiclass",
        "classes": ["0", "1", "2"],
    }
    assert draft_of("x,y\n" + "".join(f"{i},{i * 7}\n" for i in range(30)), "y")["spec"]["target"]["task"] == "regression"


def test_too_many_categories_are_capped_and_counted():
    text = "city,y\n" + "".join(f"c{i},{i % 2}\n" for i in range(80))
    drafted = draft_of(text, "y")
    assert "categories" not in drafted["spec"]["features"][0] and "80 distinct values" in drafted["notes"][0]


def test_an_unusable_sample_is_refused_saying_why():
    with pytest.raises(DatasetRejected, match="not in the sample's header"):
        draft_of(SAMPLE, "label")
    with pytest.raises(DatasetRejected, match="no rows"):
        draft_of("a,b\n", "b")
