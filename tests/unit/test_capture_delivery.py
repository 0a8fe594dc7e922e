"""Capture delivery as local mode runs Firehose: what S3 refuses is kept and retried, published as
Firehose's metrics, and discarded only after the retention window, as Firehose discards it."""

from __future__ import annotations

import json
import time

from local.lambda_runtime import InvokeResult
from local.log_subscriptions import LogSubscriptions, Subscription

STREAM = "capture-stream"
SUBSCRIPTION = Subscription.parse("/fn/logs", "{ $.capture_schema = 1 }", f"arn:aws:firehose:us-east-1:1:deliverystream/{STREAM}")


class FakeFirehose:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict]) -> dict:  # noqa: N803 - boto3's names
        self.lines += [r["Data"].decode().rstrip("\n") for r in Records]
        return {"FailedPutCount": 0}


def subscriptions(retention_s: float = 3600) -> tuple[LogSubscriptions, FakeFirehose, list[dict]]:
    firehose, metrics = FakeFirehose(), []
    delivery = LogSubscriptions(lambda _: firehose, [SUBSCRIPTION], {"fn": "/fn/logs"}, metrics=metrics.extend, retention_s=retention_s)
    return delivery, firehose, metrics


def serve(delivery: LogSubscriptions, ids: range) -> None:
    lines = [json.dumps({"capture_schema": 1, "prediction_id": str(i)}) for i in ids]
    delivery.on_invoke(InvokeResult(payload={}, errored=False, logs=[*lines, '{"level": "INFO"}'], duration_ms=1, function="fn"))


def wait_until(done, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.05)


def test_lines_refused_for_a_while_are_delivered_once_s3_accepts_again_and_nothing_is_lost():
    # Given S3 refusing until told otherwise (no timing window to race)
    delivery, firehose, metrics = subscriptions()
    delivery.fail_deliveries_for(3600)
    serve(delivery, range(0, 50))
    delivery.flush()
    assert firehose.lines == [] and delivery.undelivered_lines() == 50
    serve(delivery, range(50, 100))
    # the oldest refused line has waited a second (what DataFreshness reports), and nothing went through
    wait_until(lambda: any(m["MetricName"] == "DeliveryToS3.DataFreshness" and m["Value"] >= 1.0 for m in metrics))
    assert firehose.lines == []
    # When S3 accepts again
    delivery.fail_deliveries_for(0)
    wait_until(lambda: delivery.undelivered_lines() == 0)
    assert sorted(json.loads(line)["prediction_id"] for line in firehose.lines) == sorted(str(i) for i in range(100))
    assert delivery.discarded == 0
    success = [m["Value"] for m in metrics if m["MetricName"] == "DeliveryToS3.Success"]
    assert success[0] == 0.0 and success[-1] == 1.0  # what the CaptureDeliveryFailing alarm watches
    freshness = [m["Value"] for m in metrics if m["MetricName"] == "DeliveryToS3.DataFreshness"]
    assert max(freshness) >= 1.0  # the oldest refused line waited through the fault


def test_lines_still_refused_after_the_retention_window_are_discarded_and_counted():
    delivery, firehose, _ = subscriptions(retention_s=0.5)
    delivery.fail_deliveries_for(60)
    serve(delivery, range(10))
    wait_until(lambda: delivery.discarded == 10)
    assert firehose.lines == [] and delivery.undelivered_lines() == 0
    delivery.fail_deliveries_for(0)  # S3 accepts again: what comes now is delivered, what was discarded is gone
    serve(delivery, range(10, 12))
    wait_until(lambda: len(firehose.lines) == 2)


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[str, str] = {}

    def put_object(self, Bucket: str, Key: str, Body: bytes) -> dict:  # noqa: N803 - boto3's names
        self.objects[f"{Bucket}/{Key}"] = Body.decode()
        return {}


def test_a_partitioned_stream_writes_each_models_lines_under_its_own_prefix_and_the_rest_as_errors():
    s3 = FakeS3()
    stream = {
        "bucket_arn": "arn:aws:s3:::capture",
        "prefix": "captured/model=!{partitionKeyFromQuery:model}/!{timestamp:yyyy/MM/dd/HH}/",
        "error_prefix": "capture-errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/",
        "partition_query": "{model: .model}",
    }
    delivery = LogSubscriptions(lambda _: s3, [SUBSCRIPTION], {"fn": "/fn/logs"}, streams={STREAM: stream})
    lines = [json.dumps({"capture_schema": 1, "model": model, "prediction_id": str(i)}) for i, model in enumerate(["a", "b", "a"])]
    lines.append(json.dumps({"capture_schema": 1, "prediction_id": "no model"}))
    delivery.on_invoke(InvokeResult(payload={}, errored=False, logs=lines, duration_ms=1, function="fn"))
    delivery.flush()
    # bucket/prefix/YYYY/MM/DD/HH/object: the partition, then the UTC hour of delivery
    by_prefix = {key.rsplit("/", 5)[0]: len(body.splitlines()) for key, body in s3.objects.items()}
    assert by_prefix == {"capture/captured/model=a": 2, "capture/captured/model=b": 1, "capture/capture-errors/partitioning-failed": 1}
    assert all(key.split("/")[-5][:2] == "20" for key in s3.objects)  # the year after the partition


def test_a_partition_query_local_mode_cannot_run_is_refused_naming_it():
    import pytest

    from local.log_subscriptions import Partitioner, UnsupportedPartitionQuery

    assert Partitioner.parse("{model: .model, kind: .kind}").keys == (("model", "model"), ("kind", "kind"))
    with pytest.raises(UnsupportedPartitionQuery, match="ascii_downcase"):
        Partitioner.parse("{model: .model | ascii_downcase}")
