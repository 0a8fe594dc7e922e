"""How a failed step's Step Functions error becomes the reason a person reads."""

import json

from mlops.training import pipeline_runs


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
    # Given a run whose Ingest failed (so the state still holds only the request)
    cause = json.dumps({"errorType": "NotFound", "errorMessage": "model 'churn' has no spec", "stackTrace": []})
    state = {
        "run_id": "r1",
        "request": {"model": "churn", "trigger": "upload", "source": {"bucket": "b", "key": "datasets/churn/x.csv"}},
        "failure": {"Error": "NotFound", "Cause": cause},
    }
    runs, sns = RecordingRuns(), RecordingSns()
    # When the failure is recorded
    result = pipeline_runs.record_failure(state, None, runs, sns, "arn:topic")
    # Then the message is the reason, the data stays where it is (only rejected data is quarantined)
    assert result["reason"] == "model 'churn' has no spec"
    assert runs.calls == [
        ("start", "r1", "churn"),
        ("finish", "r1", "FAILED", {"error": "NotFound", "reason": "model 'churn' has no spec"}),
    ]
    assert json.loads(sns.messages[0]["Message"]) == {"run_id": "r1", "model": "churn", "reason": "model 'churn' has no spec"}


def test_a_cause_that_is_not_json_is_kept_verbatim():
    state = {"run_id": "r2", "model": "m", "failure": {"Error": "States.Timeout", "Cause": "took too long"}}
    assert pipeline_runs.record_failure(state, None, RecordingRuns(), RecordingSns(), "arn:topic")["reason"] == "took too long"
