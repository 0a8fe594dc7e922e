"""CloudWatch Logs subscription filters to Firehose, as local mode runs them.

In AWS a function's log lines reach CloudWatch Logs, a subscription filter picks the matching
ones and hands them to Firehose in gzipped batches, and the stream's processors (decompression,
message extraction, a newline delimiter) write each message as one line. Local mode does the same
in one step: after each invoke the matching lines are queued, and a background thread puts them
to the stream every 0.2 s (moto writes each batch as one S3 object; a stream the template
partitions dynamically is written by local mode itself, one object per partition, see Partitioner). The filter patterns supported are JSON
equality tests, `{ $.field = value }`; anything else stops the deploy with its text.

When S3 refuses the stream's writes, Firehose keeps the records and retries (every 5 s in AWS,
every RETRY_S here) for up to 24 hours, then discards them. So does this thread, publishing
Firehose's own metrics on the way: `DeliveryToS3.Success` (1 or 0 per attempt) and
`DeliveryToS3.DataFreshness` (the age of the oldest record not yet delivered), which the stack
alarms on. `fail_deliveries_for(seconds)` makes S3 refuse for a while (POST /_local/faults/capture).
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.lambda_runtime import InvokeResult

PARTITION_QUERY = re.compile(r"^\{\s*((?:[A-Za-z0-9_]+\s*:\s*\.[A-Za-z0-9_]+\s*,?\s*)+)\}$")
JSON_EQUALS = re.compile(r'^\{\s*\$\.([A-Za-z0-9_]+)\s*=\s*("?)([^"\s}]*)\2\s*\}$')
FIREHOSE_BATCH = 500  # PutRecordBatch takes up to 500 records
BUFFER_S = 0.2
RETRY_S = 0.5
RETENTION_S = 24 * 3600  # Firehose discards what it could not deliver to S3 within 24 hours


class DeliveryRefused(RuntimeError):
    pass


@dataclass
class Undelivered:
    stream: str
    lines: list[str]
    since: float  # time.monotonic() when the lines reached the stream


class UnsupportedFilterPattern(ValueError):
    pass


@dataclass(frozen=True)
class Subscription:
    log_group: str
    field: str
    value: str
    quoted: bool
    stream: str
    role_arn: str = ""  # the role CloudWatch Logs puts records to the stream with

    @classmethod
    def parse(cls, log_group: str, pattern: str, destination_arn: str, role_arn: str = "") -> Subscription:
        match = JSON_EQUALS.match(pattern.strip())
        if not match or ":firehose:" not in destination_arn:
            raise UnsupportedFilterPattern(f"local mode runs JSON equality filters to Firehose only, not {pattern!r} -> {destination_arn}")
        field, quote, value = match.groups()
        return cls(log_group, field, value, bool(quote), destination_arn.rsplit("/", 1)[-1], role_arn)

    def matches(self, line: str) -> bool:
        if f'"{self.field}"' not in line:  # cheap test before parsing
            return False
        try:
            document = json.loads(line)
        except ValueError:
            return False
        if not isinstance(document, dict) or self.field not in document:
            return False
        actual = document[self.field]
        if self.quoted or isinstance(actual, str):
            return str(actual) == self.value
        try:
            return float(actual) == float(self.value)
        except (TypeError, ValueError):
            return False


class UnsupportedPartitionQuery(ValueError):
    pass


@dataclass(frozen=True)
class Partitioner:
    """Firehose dynamic partitioning as local mode runs it: a JQ query of the form `{key: .field, ...}`
    (others stop the deploy with their text), `!{partitionKeyFromQuery:key}` and
    `!{timestamp:yyyy/MM/dd/HH}` in the prefix. A record without a key goes under the error prefix,
    its `!{firehose:error-output-type}` being `partitioning-failed`, as Firehose does."""

    keys: tuple[tuple[str, str], ...]  # (partition key, record field)

    @classmethod
    def parse(cls, query: str) -> Partitioner:
        match = PARTITION_QUERY.match(query.strip())
        if not match:
            raise UnsupportedPartitionQuery(f"local mode partitions by JQ queries like '{{key: .field}}' only, not {query!r}")
        pairs = tuple(
            (key.strip(), field.strip().lstrip("."))
            for key, field in (pair.split(":") for pair in match.group(1).split(",") if pair.strip())
        )
        return cls(pairs)

    def key_of(self, line: str) -> dict[str, str] | None:
        try:
            record = json.loads(line)
        except ValueError:
            return None
        if not isinstance(record, dict) or any(record.get(field) in (None, "") for _, field in self.keys):
            return None
        return {key: str(record[field]) for key, field in self.keys}

    @staticmethod
    def expand(prefix: str, keys: dict[str, str], now: datetime, error_type: str = "") -> str:
        expanded = prefix.replace("!{timestamp:yyyy/MM/dd/HH}", f"{now:%Y/%m/%d/%H}").replace("!{firehose:error-output-type}", error_type)
        for key, value in keys.items():
            expanded = expanded.replace(f"!{{partitionKeyFromQuery:{key}}}", value)
        if "!{" in expanded:
            raise UnsupportedPartitionQuery(f"local mode cannot expand {prefix!r}")
        return expanded


class LogSubscriptions:
    def __init__(
        self,
        clients: Callable[[str], Any],
        subscriptions: list[Subscription],
        log_groups: dict[str, str],
        denial: Callable[[Subscription], str | None] = lambda _: None,
        metrics: Callable[[list[dict[str, Any]]], None] = lambda _: None,
        retention_s: float = RETENTION_S,
        streams: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self._client = clients
        self._streams = streams or {}
        # Streams the template partitions dynamically (the deployer checked their queries).
        self._partitioners = {name: Partitioner.parse(c["partition_query"]) for name, c in self._streams.items() if "partition_query" in c}
        self._metrics, self._retention_s = metrics, retention_s
        self._undelivered: list[Undelivered] = []
        self._refuse_until = 0.0
        self.discarded = 0  # lines dropped after the retention window, as Firehose drops them
        # A subscription whose roles may not deliver loses its lines, as in AWS; said once, loudly.
        self._refused = {s: why for s in subscriptions if (why := denial(s)) is not None}
        for subscription, why in self._refused.items():
            print(f"local mode: log subscription of {subscription.log_group} cannot deliver: {why}", flush=True)
        self._by_function: dict[str, list[Subscription]] = {}
        for function, group in log_groups.items():
            found = [s for s in subscriptions if s.log_group == group]
            if found:
                self._by_function[function] = found
        self._pending: queue.Queue[tuple[str, list[str]]] = queue.Queue()
        threading.Thread(target=self._deliver_forever, daemon=True, name="local-log-subscriptions").start()

    def on_invoke(self, result: InvokeResult) -> None:
        """Called by the Lambda runtime after every invoke."""
        for subscription in self._by_function.get(result.function, []):
            if subscription in self._refused:
                continue
            lines = [line for line in result.logs if subscription.matches(line)]
            if lines:
                self._pending.put((subscription.stream, lines))

    def flush(self) -> None:
        """Returns once every queued line has had a delivery attempt (made or refused)."""
        self._pending.join()

    def fail_deliveries_for(self, seconds: float) -> None:
        """S3 refuses the streams' writes for a while, as when the bucket's key is disabled."""
        self._refuse_until = time.monotonic() + seconds

    def undelivered_lines(self) -> int:
        return sum(len(u.lines) for u in self._undelivered)

    def _deliver_forever(self) -> None:
        """Like Firehose, buffers briefly: one PutRecordBatch per stream per BUFFER_S, not one per invoke
        (which cost every request a round trip to moto in the same process); retries what S3 refused."""
        while True:
            try:
                batch = [self._pending.get(timeout=RETRY_S)] if self._undelivered else [self._pending.get()]
            except queue.Empty:
                batch = []
            time.sleep(BUFFER_S)
            while not self._pending.empty():
                batch.append(self._pending.get_nowait())
            arrived = time.monotonic()
            self._undelivered += [Undelivered(stream, lines, arrived) for stream, lines in batch]
            try:
                self._attempt()
            finally:
                for _ in batch:
                    self._pending.task_done()

    def _attempt(self) -> None:
        """One delivery attempt per stream for everything it holds; what S3 refuses stays, until
        the retention window discards it."""
        now, kept = time.monotonic(), []
        for stream in sorted({u.stream for u in self._undelivered}):
            held = [u for u in self._undelivered if u.stream == stream]
            try:
                self._put(stream, [line for u in held for line in u.lines])
                delivered = True
            except Exception as error:  # noqa: BLE001 - a refused delivery is retried, never raised
                delivered = False
                expired = [u for u in held if now - u.since > self._retention_s]
                self.discarded += sum(len(u.lines) for u in expired)
                if expired:
                    print(f"local Firehose {stream}: discarded {len(expired)} batches older than {self._retention_s:.0f} s", flush=True)
                kept += [u for u in held if u not in expired]
                print(f"local Firehose {stream}: delivery to S3 failed, retrying: {error}", flush=True)
            oldest = min((u.since for u in held), default=now)
            self._publish(stream, delivered, freshness_s=now - oldest)
        self._undelivered = kept

    def _put(self, stream: str, lines: list[str]) -> None:
        if time.monotonic() < self._refuse_until:
            raise DeliveryRefused("S3 refused the write (local fault: the capture bucket's key is unavailable)")
        if stream in self._partitioners:
            self._put_partitioned(stream, self._partitioners[stream], self._streams[stream], lines)
            return
        for start in range(0, len(lines), FIREHOSE_BATCH):
            records = [{"Data": (line.rstrip("\n") + "\n").encode()} for line in lines[start : start + FIREHOSE_BATCH]]
            self._client("firehose").put_record_batch(DeliveryStreamName=stream, Records=records)

    def _put_partitioned(self, stream: str, partitioner: Partitioner, config: dict[str, str], lines: list[str]) -> None:
        """One object per partition of this delivery, named as Firehose names them."""
        now = datetime.now(UTC)
        groups: dict[str, list[str]] = {}
        for line in lines:
            keys = partitioner.key_of(line)
            prefix = (
                Partitioner.expand(config["prefix"], keys, now)
                if keys is not None
                else Partitioner.expand(config["error_prefix"], {}, now, "partitioning-failed")
            )
            groups.setdefault(prefix, []).append(line.rstrip("\n") + "\n")
        bucket = config["bucket_arn"].rsplit(":", 1)[-1]
        for prefix, grouped in groups.items():
            key = f"{prefix}{stream}-1-{now:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
            self._client("s3").put_object(Bucket=bucket, Key=key, Body="".join(grouped).encode())

    def _publish(self, stream: str, delivered: bool, freshness_s: float) -> None:
        now, dimensions = datetime.now(UTC), [{"Name": "DeliveryStreamName", "Value": stream}]
        self._metrics(
            [
                {
                    "Namespace": "AWS/Firehose",
                    "MetricName": "DeliveryToS3.Success",
                    "Dimensions": dimensions,
                    "Value": float(delivered),
                    "Unit": "None",
                    "Timestamp": now,
                },
                {
                    "Namespace": "AWS/Firehose",
                    "MetricName": "DeliveryToS3.DataFreshness",
                    "Dimensions": dimensions,
                    "Value": round(freshness_s, 3),
                    "Unit": "Seconds",
                    "Timestamp": now,
                },
            ]
        )
