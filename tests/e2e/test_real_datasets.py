"""Real data sets as published, through local mode as a user drives it: the API drafts a spec from
the file, the draft registers unchanged with the published column names, the file uploaded exactly
as written trains and passes parity, the champion answers records keyed by those names, and the
drift check finds nothing in traffic drawn from the data set but flags a real covariate shift (the
rows in the top quartile of one size feature) on that feature, and the label-free estimate of each
window holds the metric its labels give.

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

    # When traffic drawn from the data set is checked, its labels sent back, then traffic from one
    # corner of it (retraining off: a run it started would be the next execution another test waits for)
    samples = {"min_samples": 40}
    checks = {
        "check_every_minutes": 0,
        "drift": samples,
        "performance": {**samples, "estimate_min_samples": 40},
        "retraining": {"max_per_day": 0},
    }
    monitored = {**drafted["spec"], "monitoring": checks}
    assert local_stack.api("PUT", f"models/{model}", monitored)[0] == 201
    all_rows, all_truth = data.records(len(data.rows))
    steady_answers = serve(local_stack, model, all_rows)
    send_feedback(local_stack, model, steady_answers, all_truth)
    steady_report = local_stack.check_now(model)
    column = data.features.index(size)
    cut = sorted(row[column] for row in data.rows)[3 * len(data.rows) // 4]
    corner = [i for i, record in enumerate(all_rows) if record[size] >= cut]
    shifted_answers = serve(local_stack, model, [all_rows[i] for i in corner])
    shifted_report = local_stack.check_now(model)
    steady, shifted = steady_report["drift"], shifted_report["drift"]

    # Then the steady traffic is no drift, and the shift is found on the feature that moved
    assert (steady["verdict"], steady["drifted_features"]) == ("no drift", []), steady["drifted_features"]
    assert shifted["rows"] == len(corner)  # each prediction in one window only
    assert shifted["verdict"] == "drift" and size in shifted["drifted_features"], shifted["features"].get(size)
    assert steady_report["data_quality"]["verdict"] == "ok" and steady["multivariate"]["verdict"] == "no drift"

    # And the label-free estimate of each window holds the metric its labels give in its interval;
    # the regressor's estimated error rises with the shift as its realized error does
    metric = "accuracy" if data.classes else "mae"
    windows = ((steady_report, steady_answers, all_truth), (shifted_report, shifted_answers, [all_truth[i] for i in corner]))
    realized = []
    for report, answers, truth in windows:
        entry = report["estimated_performance"]["metrics"][metric]
        realized.append(realized_metric(answers, truth, metric))
        low, high = entry["interval"]
        print(f"{name}, {len(truth)} rows: {metric} estimated {entry['estimate']:.4g} [{low:.4g}, {high:.4g}], realized {realized[-1]:.4g}")
        assert entry["interval"][0] <= realized[-1] <= entry["interval"][1], (metric, entry, realized[-1])
    if metric == "mae":
        estimates = [report["estimated_performance"]["metrics"]["mae"]["estimate"] for report, _, _ in windows]
        assert estimates[1] > estimates[0] and realized[1] > realized[0], (estimates, realized)
    # Once labels came back, the check shows the realized value beside the estimate
    summary = steady_report["recent_checks"][0]["estimate"]
    assert summary["realized"] is not None and summary["interval"][0] <= summary["realized"] <= summary["interval"][1], summary


def serve(local_stack, model: str, records: list[dict]) -> list[tuple[str, int, dict]]:
    """Each record's (prediction id, index in its request, answer)."""
    answers = []
    for start in range(0, len(records), 100):
        status, answer = local_stack.api("POST", f"models/{model}/predict", {"records": records[start : start + 100]})
        assert status == 200, answer
        answers += [(answer["prediction_id"], i, p) for i, p in enumerate(answer["predictions"])]
    return answers


def send_feedback(local_stack, model: str, answers: list[tuple[str, int, dict]], truth: list) -> None:
    for (prediction_id, index, _), actual in zip(answers, truth, strict=True):
        status, body = local_stack.api(
            "POST", f"models/{model}/feedback", {"prediction_id": prediction_id, "index": index, "actual": actual}
        )
        assert status == 202, body


def realized_metric(answers: list[tuple[str, int, dict]], truth: list, metric: str) -> float:
    if metric == "accuracy":
        return sum(p["label"] == t for (_, _, p), t in zip(answers, truth, strict=True)) / len(truth)
    return sum(abs(p["value"] - t) for (_, _, p), t in zip(answers, truth, strict=True)) / len(truth)
