"""Capture lines: what the API writes to its log for the subscription to pick up."""

import io
import json

import pytest

from local.log_subscriptions import Subscription, UnsupportedFilterPattern
from mlops.serving import capture
from mlops.serving.capture import Capture, feedback_record, log_lines, prediction_record
from mlops.serving.predictor import Prediction
from mlops.shared.settings import CAPTURE_SCHEMA


def answer(n: int, shadow: bool = False) -> Prediction:
    results = [{"label": "yes", "probabilities": {"no": 0.2, "yes": 0.8}} for _ in range(n)]
    shadow_answer = {"version": 3, "results": [{"label": "no"} for _ in range(n)]} if shadow else None
    return Prediction("0" * 36, "challenger", 2, results, shadow_answer, False, 0.001)


def test_a_small_request_is_one_record_with_everything_needed_to_join_feedback():
    record = prediction_record("churn", [{"plan": "basic"}], answer(1, shadow=True))
    assert log_lines(record) == [json.dumps({"capture_schema": CAPTURE_SCHEMA, **record}, separators=(",", ":"))]
    assert record["kind"] == "prediction" and record["first_index"] == 0
    assert (record["version"], record["variant"], record["prediction_id"]) == (2, "challenger", "0" * 36)
    assert record["inputs"] == [{"plan": "basic"}] and record["shadow"]["results"] == [{"label": "no"}]


def test_a_large_batch_is_split_so_that_no_line_nears_the_log_event_limit(monkeypatch):
    monkeypatch.setattr(capture, "MAX_LINE_BYTES", 2_000)
    records = [{"note": "x" * 100, "i": i} for i in range(100)]
    captured = [json.loads(line) for line in log_lines(prediction_record("churn", records, answer(100, shadow=True)))]
    assert len(captured) > 5
    assert [r["first_index"] for r in captured] == [0] + [sum(len(c["inputs"]) for c in captured[:k]) for k in range(1, len(captured))]
    assert [i for r in captured for i in r["inputs"]] == records
    assert all(len(r["outputs"]) == len(r["inputs"]) == len(r["shadow"]["results"]) for r in captured)
    assert all(len(json.dumps(r)) < 2 * 2_000 for r in captured)


def test_send_writes_one_json_line_per_record_with_the_schema_marker():
    stream = io.StringIO()
    Capture(stream).send([feedback_record("churn", "p", "yes"), feedback_record("churn", "q", "no", 3)])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["capture_schema"], line["prediction_id"], line["index"]) for line in lines] == [
        (CAPTURE_SCHEMA, "p", 0),
        (CAPTURE_SCHEMA, "q", 3),
    ]


def test_sampled_out_requests_write_nothing():
    stream = io.StringIO()
    sampled_out = Prediction("0" * 36, "champion", 1, [{"value": 1.0}], None, False, 0.001, 0.0)
    assert not Capture(stream).send_prediction("churn", [{"age": 1}], sampled_out)
    assert stream.getvalue() == ""


def test_the_local_subscription_filter_matches_capture_lines_only():
    subscription = Subscription.parse("/logs/api", "{ $.capture_schema = 1 }", "arn:aws:firehose:us-east-1:1:deliverystream/capture")
    assert subscription.stream == "capture"
    assert subscription.matches('{"capture_schema":1,"kind":"feedback"}')
    assert not subscription.matches('{"capture_schema":2}')
    assert not subscription.matches('{"level":"INFO","message":"capture_schema"}')
    assert not subscription.matches("capture_schema = 1, not JSON")
    quoted = Subscription.parse("/logs/api", '{ $.kind = "feedback" }', "arn:aws:firehose:us-east-1:1:deliverystream/s")
    assert quoted.matches('{"kind":"feedback"}') and not quoted.matches('{"kind":"prediction"}')


def test_a_filter_local_mode_cannot_run_stops_the_deploy():
    with pytest.raises(UnsupportedFilterPattern):
        Subscription.parse("/logs/api", "ERROR", "arn:aws:firehose:us-east-1:1:deliverystream/s")


def test_pii_features_are_dropped_or_pseudonymized_before_capture():
    personal = Prediction("1" * 36, "champion", 1, [{"value": 1.0}] * 2, None, False, 0.001, 1.0, ("email",), "drop")
    records = [{"email": "ana@example.com", "age": 40}, {"email": None, "age": 41}]
    dropped = prediction_record("churn", records, personal)
    assert dropped["inputs"] == [{"age": 40}, {"age": 41}]
    hashed = Prediction("1" * 36, "champion", 1, [{"value": 1.0}] * 2, None, False, 0.001, 1.0, ("email",), "hash")
    pseudonymized = prediction_record("churn", records, hashed)
    first = pseudonymized["inputs"][0]["email"]
    assert first.startswith("sha256:") and "ana" not in first and pseudonymized["inputs"][1]["email"] is None
    assert first == prediction_record("churn", records, hashed)["inputs"][0]["email"]  # stable: joins still work
    assert first != prediction_record("other-model", records, hashed)["inputs"][0]["email"]
    assert records[0]["email"] == "ana@example.com"  # the request's own records are untouched
