"""`mlops` against local mode: the README's quick start end to end, every command, and each mistake a
user can make answered with the API's message and a non-zero exit, never a traceback."""

from __future__ import annotations

import csv
import io
import json

import pytest

from local.real_data import published


def test_the_quick_start_goes_from_a_csv_to_a_served_prediction_and_a_drift_report(quick_start, local_stack):
    outputs = quick_start.outputs
    # The draft names the published columns, as published, and the task it found
    drafted = json.loads((quick_start.cli.workdir / "cancer.spec.json").read_text())
    assert [f["name"] for f in drafted["features"]] == published("breast_cancer").features
    assert "binary on target" in outputs["init"] and "mean radius" in outputs["init"]
    assert "spec registered version 1" in outputs["spec push"]
    # The run is followed step by step, with timings, to a version and its metrics
    for step in ("validate", "version", "prepare", "train", "export", "evaluate"):
        assert f"✓ {step}" in outputs["push"]
    assert "SUCCEEDED: version 1 (champion), accuracy" in outputs["push"]
    assert "SUCCEEDED: version 2 (challenger)" in outputs["push 2"]
    # The second upload went through the validation's Distributed Map (--distributed), published columns and all
    assert "✓ plan_validation" in outputs["push 2"] and "1 chunk(s) for the validation's Distributed Map" in outputs["push 2"]
    # The prediction is the champion's, one row per record
    assert "cancer v1 (champion)" in outputs["predict"] and outputs["predict"].count("\n │") == 0
    served = json.loads(outputs["predict all"])
    assert (served["version"], len(served["predictions"])) == (1, 569)
    # The drift check ran now, on what was served, and reports every feature
    assert "no drift" in outputs["drift"] and "worst concavity" in outputs["drift"]
    # And the API agrees with what the CLI printed
    status, report = local_stack.api("GET", "models/cancer/drift")
    assert status == 200 and report["drift"]["rows"] >= 569
    # The champion is a sensible model of the published rows
    records, truth = published("breast_cancer").records(20)
    answer = quick_start.cli.json("predict", "cancer", "-", stdin=json.dumps({"records": records}))
    assert sum(p["label"] == t for p, t in zip(answer["predictions"], truth, strict=True)) >= 15


def test_a_real_shift_is_flagged_on_the_feature_that_moved(quick_start):
    # Given traffic from one corner of the data set: the top quartile of mean radius
    cli, data = quick_start.cli, published("breast_cancer")
    column = data.features.index("mean radius")
    cut = sorted(row[column] for row in data.rows)[3 * len(data.rows) // 4]
    rows = [line for line in (cli.workdir / "cancer.csv").read_text().splitlines()[1:] if float(line.split(",")[column]) >= cut]
    (cli.workdir / "large.csv").write_text("\n".join([",".join(data.features + ["target"]), *rows]) + "\n")
    cli("predict", "cancer", "large.csv", "--json")

    # When it is checked now
    report = cli.json("drift", "cancer", "--now")

    # Then mean radius drifted, and the verdicts of both checks are kept
    assert report["drift"]["verdict"] == "drift" and "mean radius" in report["drift"]["drifted_features"]
    assert [c["drift"] for c in report["recent_checks"][:2]] == ["drift", "no drift"]


def test_reads_runs_versions_comparison_and_audit(quick_start):
    cli, model = quick_start.cli, quick_start.model
    runs = cli.json("runs", model, "--status", "SUCCEEDED")["runs"]
    assert len(runs) == 2
    first, second = sorted(runs, key=lambda r: r["started_at"])
    shown = cli("run", first["run_id"]).stdout
    assert "validate" in shown and "569 of 569 rows valid" in shown
    compared = cli.json("compare", first["run_id"], second["run_id"])
    assert [r["run_id"] for r in compared["runs"]] == [first["run_id"], second["run_id"]]
    assert compared["runs"][0]["dataset_version"] != compared["runs"][1]["dataset_version"]
    versions = cli.json("versions", model)
    assert versions["aliases"] == {"champion": 1, "challenger": 2}
    actions = {r["action"] for r in cli.json("audit", model)["records"]}
    assert {"spec.registered", "version.registered", "alias.champion", "alias.challenger", "rollout.started"} <= actions
    assert cli.json("models")["models"][0]["last_check"]["drift"] in ("no drift", "drift")


def test_traffic_is_changed_at_the_revision_just_read(quick_start, local_stack):
    cli, model = quick_start.cli, quick_start.model
    before = cli.json("traffic", model)["policy"]["revision"]
    moved = cli.json("traffic", model, "--challenger-percent", "20")
    assert (moved["policy"]["challenger_percent"], moved["policy"]["revision"]) == (20, before + 1)
    back = cli.json("traffic", model, "--challenger-percent", "0")
    assert back["policy"]["challenger_percent"] == 0
    assert local_stack.api("GET", f"models/{model}/traffic")[1]["policy"] == back["policy"]


def test_feedback_and_the_html_report(quick_start):
    cli, model = quick_start.cli, quick_start.model
    records, targets = published("breast_cancer").records(1)
    answer = cli.json("predict", model, "-", "--routing-key", "patient-1", stdin=json.dumps(records[0]))
    accepted = cli("feedback", model, answer["prediction_id"], str(targets[0])).stdout
    assert f"feedback for {answer['prediction_id']}[0] accepted" in accepted
    report = cli.json("drift", model, "--open")  # BROWSER=true: the page is written, "opened" by true(1)
    page = cli.workdir / f"{model}-drift-{report['check_id']}.html"
    assert page.read_text().lstrip().lower().startswith("<!doctype html")


def test_batch_scores_a_folder_and_brings_the_predictions_home(quick_start):
    cli, model = quick_start.cli, quick_start.model
    folder = cli.workdir / "to-score"
    folder.mkdir()
    rows = (cli.workdir / "cancer.csv").read_text().splitlines()
    (folder / "a.csv").write_text("\n".join(rows[:21]) + "\n")
    broken_row = rows[21].split(",")
    broken_row[0] = "not a number"
    (folder / "b.csv").write_text("\n".join([rows[0], rows[22], ",".join(broken_row)]) + "\n")

    result = cli.json("batch", model, str(folder))

    assert result["status"] == "SUCCEEDED" and result["version"] == 1
    scored = list(csv.DictReader(io.StringIO((folder / "a.predictions.csv").read_text())))
    assert len(scored) == 20 and all(r["predicted_target"] in ("0", "1") and not r["prediction_error"] for r in scored)
    second = list(csv.DictReader(io.StringIO((folder / "b.predictions.csv").read_text())))
    assert not second[0]["prediction_error"] and "mean radius" in second[1]["prediction_error"]


# --- mistakes: the API's message (or the CLI's), a non-zero exit, no traceback -----------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["predict", "no-such-model", "-"], "404"),
        (["run", "no-such-run"], "404"),
        (["approve", "cancer", "1"], "409"),
        (["feedback", "cancer", "not-an-id", "1"], "422: prediction_id"),
        (["--stack", "NoSuchStack", "models"], "stack NoSuchStack not found"),
        (["--endpoint-url", "http://127.0.0.1:9", "models"], "cannot reach local mode at http://127.0.0.1:9"),
        (["init", "cancer.csv", "--target", "target", "--model", "cancer"], "cancer.spec.json exists"),
        (["push", "cancer.csv", "--model", "no-spec-yet"], "404: model 'no-spec-yet'"),
        (["rollout", "watch", "no-spec-yet"], "has had no rollout"),
    ],
)
def test_a_mistake_is_one_message_and_exit_1(quick_start, args, says):
    failed = quick_start.cli(*args, stdin='{"x": 1}', status=1)
    assert says in failed.stderr and failed.stderr.startswith("error:")


def test_a_record_the_spec_refuses_names_the_field(quick_start):
    records, _ = published("breast_cancer").records(1)
    failed = quick_start.cli("predict", "cancer", "-", stdin=json.dumps({**records[0], "mean radius": "large"}), status=1)
    assert "422" in failed.stderr and "records.0.mean radius" in failed.stderr


def test_a_broken_upload_fails_its_run_with_the_reason_and_where_the_file_went(quick_start):
    cli = quick_start.cli
    (cli.workdir / "broken.csv").write_text("mean radius,mean texture\n14.1,20.3\n")  # an export that lost its label
    cli("spec", "push", "cancer.spec.json", "--model", "cancer-broken")

    failed = cli("push", "broken.csv", "--model", "cancer-broken", status=2)

    assert "FAILED" in failed.stderr and "quarantined at quarantine/cancer-broken/" in failed.stderr
    assert "version 1" not in failed.stdout
