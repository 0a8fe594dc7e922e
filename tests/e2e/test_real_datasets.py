"""Real data sets as published, through local mode as a user drives it: a spec with the published
column names registers, the file uploaded exactly as written trains and passes parity, and the
champion answers records keyed by those names."""

import pytest

from tests.real_data import ALGORITHMS, published

CASES = [("breast_cancer", "cancer"), ("wine", "wine"), ("diabetes", "diabetes")]


@pytest.mark.parametrize(("name", "model"), CASES)
def test_a_published_data_set_registers_trains_and_serves(local_stack, executions, name, model):
    data = published(name)
    # Given its spec, with the columns named as published ('mean radius', 'od280/od315_of_diluted_wines')
    status, registered = local_stack.api("PUT", f"models/{model}", data.spec(ALGORITHMS[data.task][0]))
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
