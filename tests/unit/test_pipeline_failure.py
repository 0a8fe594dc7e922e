"""How a failed step's Step Functions error becomes the reason a person reads."""

import json

from mlops import pipeline


class RecordingRuns:
    def __init__(self):
        self.calls = []

    def start(self, run_id, model, trigger):
        self.calls.append(("start", run_id, model))

    def finish(self, run_id, status, failure=None):
        self.calls.append(("finish", run_id, status, failure))


class RecordingSns:
    def __init__(self):
        self.messages = []

    def publish(self, **kwargs):
        self.messages.append(kwargs)


def test_the_lambda_error_message_is_the_reason_and_operators_are_told():
    cause = json.dumps({"errorType": "DatasetRejected", "errorMessage": "x.csv is empty", "stackTrace": []})
    state = {
        "run_id": "r1",
        "event": {"detail": {"object": {"key": "datasets/churn/x.csv"}}},
        "failure": {"Error": "DatasetRejected", "Cause": cause},
    }
    runs, sns = RecordingRuns(), RecordingSns()
    result = pipeline.record_failure(state, runs, sns, "arn:topic")
    assert result["reason"] == "x.csv is empty"
    assert runs.calls == [
        ("start", "r1", "churn"),
        ("finish", "r1", "FAILED", {"error": "DatasetRejected", "reason": "x.csv is empty"}),
    ]
    assert json.loads(sns.messages[0]["Message"]) == {"run_id": "r1", "model": "churn", "reason": "x.csv is empty"}


def test_a_cause_that_is_not_json_is_kept_verbatim():
    state = {"run_id": "r2", "model": "m", "failure": {"Error": "States.Timeout", "Cause": "took too long"}}
    assert pipeline.record_failure(state, RecordingRuns(), RecordingSns(), "arn:topic")["reason"] == "took too long"
