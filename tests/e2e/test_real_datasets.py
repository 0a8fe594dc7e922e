"""Real data sets as published, through local mode as a user drives it: the API drafts a spec from
the file, the draft registers unchanged with the published column names, the file uploaded exactly
as written trains and passes parity, and the champion answers records keyed by those names."""

import pytest

from tests.real_data import TARGET, published

CASES = [("breast_cancer", "cancer"), ("wine", "wine"), ("diabetes", "diabetes")]


@pytest.mark.parametrize(("name", "model"), CASES)
def test_a_published_data_set_registers_trains_and_serves(local_stack, executions, name, model):
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
