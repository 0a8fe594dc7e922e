"""Real data sets as published, through local mode as a user drives it: the API drafts a spec from
the file, the draft registers unchanged with the published column names, the file uploaded exactly
as written trains and passes parity, the champion answers records keyed by those names, and the
drift check finds nothing in traffic drawn from the data set but flags a real covariate shift (the
rows in the top quartile of one size feature) on that feature.

The binary data set (breast cancer) goes the same way through `mlops`, in the README's quick start
(tests/e2e/test_cli.py); here the multiclass and regression ones go through the API."""

import pytest

from local.real_data import TARGET, published

# Per data set: the size feature whose top quartile is sent as shifted traffic.
CASES = [("wine", "wine", "alcohol"), ("diabetes", "diabetes", "bmi")]


@pytest.mark.parametrize(("name", "model", "size"), CASES)
def test_a_published_data_set_registers_trains_serves_and_is_checked_for_drift(local_stack, executions, name, model, size):
    data = published(name)
    # Given the spec the API drafts from the file, registered as drafted (columns as published:
    # 'mean radius', 'od280/od315_of_diluted_wines')
    status, drafted = local_stack.api("POST", f"models/{model}/draft", {"target": TARGET, "csv": data.csv().decode()})
    assert status == 200, drafted
    assert [f["name"] for f in drafted["spec"]["features"]] == data.features
    assert drafted["spec"]["target"]["task"] == data.task and drafted["spec"]["target"].get("classes") == data.classes
    status, registered = local_stack.api("PUT", f"models/{model}", drafted["spec"])
    assert status == 201, registered

    # When the file is uploaded as written
    execution = local_stack.train(executions, model, f"{name}.csv", data.csv())

    # Then it trains, passes parity and the champion answers the published rows
    run = local_stack.api("GET", f"runs/{execution['name']}")[1]
    assert execution["status"] == "SUCCEEDED", run.get("failure")
    assert run["steps"]["validate"]["rows"]["valid"] == len(data.rows)
    records, truth = data.records(20)
    status, answer = local_stack.api("POST", f"models/{model}/predict", {"records": records})
    assert status == 200, answer
    if data.classes:
        right = sum(p["label"] == t for p, t in zip(answer["predictions"], truth, strict=True))
        assert right >= 15, (right, run["metrics"])  # rows it trained on, mostly: a sensible model
    else:
        errors = [abs(p["value"] - t) for p, t in zip(answer["predictions"], truth, strict=True)]
        assert sum(errors) / len(errors) < 70, run["metrics"]  # the target spans 25..346; its mean error is ~45

    # When traffic drawn from the data set is checked, then traffic from one corner of it
    # (retraining off: a run it started would be the next execution another test waits for)
    checks = {"check_every_minutes": 0, "drift": {"min_samples": 40}, "retraining": {"max_per_day": 0}}
    monitored = {**drafted["spec"], "monitoring": checks}
    assert local_stack.api("PUT", f"models/{model}", monitored)[0] == 201
    all_rows, _ = data.records(len(data.rows))
    serve(local_stack, model, all_rows)
    steady = local_stack.check_now(model)["drift"]
    column = data.features.index(size)
    cut = sorted(row[column] for row in data.rows)[3 * len(data.rows) // 4]
    serve(local_stack, model, [record for record in all_rows if record[size] >= cut])
    shifted = local_stack.check_now(model)["drift"]

    # Then the steady traffic is no drift, and the shift is found on the feature that moved
    assert (steady["verdict"], steady["drifted_features"]) == ("no drift", []), steady["drifted_features"]
    assert shifted["rows"] == len([r for r in all_rows if r[size] >= cut])  # each prediction in one window only
    assert shifted["verdict"] == "drift" and size in shifted["drifted_features"], shifted["features"].get(size)


def serve(local_stack, model: str, records: list[dict]) -> None:
    for start in range(0, len(records), 100):
        status, answer = local_stack.api("POST", f"models/{model}/predict", {"records": records[start : start + 100]})
        assert status == 200, answer
