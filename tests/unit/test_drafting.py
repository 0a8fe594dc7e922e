"""A draft spec from a sample of the data: types, profiles (never rules), task, personal data, and the
columns it leaves out (identifiers, constants, dates)."""

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


def draft_of(text: str, target: str, limit: int = drafting.SAMPLE_ROWS) -> dict:
    return drafting.draft(drafting.sample_rows(drafting.text_lines(text), limit=limit), target)


def test_a_draft_reads_types_profiles_and_the_task_and_states_no_rules_the_data_does_not_imply():
    drafted = draft_of(SAMPLE, "churned")
    spec = ModelSpec.model_validate(drafted["spec"])  # registers as it stands
    by_name = {f.name: f for f in spec.features}
    assert list(by_name) == ["mean radius", "plan", "contact e-mail", "notes"]  # the BOM is not part of the first name
    radius, plan = by_name["mean radius"], by_name["plan"]
    assert radius.type == "numeric" and (radius.profile.minimum, radius.profile.maximum) == (17.99, 20.57)
    assert plan.profile.categories == ["basic", "pro"] and plan.profile.distinct == 2
    # What was seen is a profile: no range, no closed set, and a missing value is allowed (imputed)
    assert all(f.minimum is None and f.maximum is None and f.categories is None and f.nullable for f in spec.features)
    assert by_name["notes"].profile.missing_rate == round(2 / 3, 6)
    assert (spec.target.task, spec.target.classes) == ("binary", ["no", "yes"])
    assert drafted["rows_sampled"] == 3 and drafted["rows_seen"] == 3


def test_a_file_sorted_by_date_is_drafted_from_rows_spread_over_all_of_it():
    # Given 20,000 rows sorted by month, twice as many as the draft keeps
    rows = [f"{1 + i * 12 // 20000},{i % 28 + 1},{i % 7}" for i in range(20000)]
    text = "month,day,y\n" + "\n".join(rows) + "\n"
    # When it is drafted
    drafted = draft_of(text, "y")
    # Then every month is in its profile, and the notes say how the rows were drawn
    month = next(f for f in drafted["spec"]["features"] if f["name"] == "month")
    assert (month["profile"]["minimum"], month["profile"]["maximum"]) == (1, 12)
    assert drafted["rows_sampled"] == drafting.SAMPLE_ROWS and drafted["rows_seen"] == 20000
    assert "uniform random sample of the 20000 rows" in drafted["notes"][0]


def test_identifiers_constants_and_dates_are_left_out_saying_why():
    lines = ["customer,Sample Number,,region,signup,Date Egg,size,y"]
    lines += [
        f"c{i:05d},{i % 40},{i},Anvers,2013-{i % 12 + 1:02d}-{i % 28 + 1:02d},{i % 28 + 1}/{i % 12 + 1}/2008,{i % 9},{i % 2}"
        for i in range(100)
    ]
    drafted = draft_of("\n".join(lines) + "\n", "y")
    assert [f["name"] for f in drafted["spec"]["features"]] == ["size"]
    reasons = {e["name"]: e["reason"] for e in drafted["excluded"]}
    assert reasons["customer"].startswith("an identifier") and reasons["Sample Number"].startswith("an identifier by its name")
    assert reasons["region"].startswith("a single value") and reasons["signup"].startswith("dates")
    assert reasons["Date Egg"].startswith("dates")
    assert not any("personal" in note for note in drafted["notes"])  # a date is not a phone number


def test_na_markers_are_missing_values_so_measurements_stay_numeric():
    text = "Culmen Length (mm),Sex,Species\n39.1,MALE,Adelie\nNA,NA,Adelie\n46.5,FEMALE,Gentoo\nnan,,Gentoo\n"
    drafted = draft_of(text, "Species")
    length, sex = drafted["spec"]["features"]
    assert length["type"] == "numeric" and length["profile"]["missing_rate"] == 0.5
    assert sex["profile"]["categories"] == ["FEMALE", "MALE"]  # NA is not a category
    assert drafted["missing_markers"] == {"NA": 2, "nan": 1}


def test_rows_without_a_label_are_counted_in_the_notes():
    drafted = draft_of("x,y\n" + "".join(f"{i * 37},{'NA' if i % 10 == 0 else i % 2}\n" for i in range(50)), "y")
    assert drafted["spec"]["target"]["classes"] == ["0", "1"]
    assert any("5 of 50 sampled rows have no label" in note for note in drafted["notes"])


def test_a_sample_from_reads_across_an_object_drops_the_cut_lines_of_each_window():
    windows = ["a,y\n1,0\n2,1\n", '"cut,\nquoted"\n3,0\n4,1\n5,', "99,0\n6,1\n7,0"]
    sample = drafting.sample_windows(windows, drawn="3 reads")
    # the cut "quoted" line has one field where the header has two: skipped, not guessed at
    assert sample.header == ["a", "y"] and sample.rows == [["1", "0"], ["2", "1"], ["3", "0"], ["4", "1"], ["6", "1"]]


def test_likely_personal_data_is_flagged_by_name_or_by_value():
    drafted = draft_of(SAMPLE.replace("contact e-mail", "reach"), "churned")
    reach = next(f for f in drafted["spec"]["features"] if f["name"] == "reach")
    assert reach["pii"] and any("e-mail addresses" in note for note in drafted["notes"])
    named = draft_of("first_name,y\nAnn,1\nBob,2\n" + "".join(f"Cy{i % 10},{i}\n" for i in range(30)), "y")
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
    drafted = draft_of("reach,y\n" + "".join(f"{number[:-1]}{i % 5},{i % 2}\n" for i in range(20)), "y")
    assert drafted["spec"]["features"][0].get("pii")


def test_integer_labels_are_classes_and_many_distinct_values_are_a_quantity():
    assert draft_of("x,y\n" + "".join(f"{i % 9},{i % 3}\n" for i in range(30)), "y")["spec"]["target"] == {
        "name": "y",
        "task": "multiclass",
        "classes": ["0", "1", "2"],
    }
    assert draft_of("x,y\n" + "".join(f"{i % 9},{i * 7}\n" for i in range(30)), "y")["spec"]["target"]["task"] == "regression"


def test_many_categories_are_profiled_by_the_most_frequent_and_counted():
    text = "city,y\n" + "".join(f"c{i % 60},{i % 2}\n" for i in range(240))
    drafted = draft_of(text, "y")
    city = drafted["spec"]["features"][0]["profile"]
    assert len(city["categories"]) == drafting.MAX_CATEGORIES and city["distinct"] == 60
    assert any("60 distinct values" in note for note in drafted["notes"])


def test_an_unusable_sample_is_refused_saying_why():
    with pytest.raises(DatasetRejected, match="not in the sample's header"):
        draft_of(SAMPLE, "label")
    with pytest.raises(DatasetRejected, match="no rows"):
        draft_of("a,b\n", "b")
