"""CloudWatch Logs subscription filters to Firehose, as local mode runs them.

In AWS a function's log lines reach CloudWatch Logs, a subscription filter picks the matching
ones and hands them to Firehose in gzipped batches, and the stream's processors (decompression,
message extraction, a newline delimiter) write each message as one line. Local mode does the same
in one step: after each invoke the matching lines are queued, and a background thread puts them
to the stream every 0.2 s (moto writes each batch as one S3 object). The filter patterns supported are JSON
equality tests, `{ $.field = value }`; anything else stops the deploy with its text.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.lambda_runtime import InvokeResult

JSON_EQUALS = re.compile(r'^\{\s*\$\.([A-Za-z0-9_]+)\s*=\s*("?)([^"\s}]*)\2\s*\}$')
FIREHOSE_BATCH = 500  # PutRecordBatch takes up to 500 records
BUFFER_S = 0.2


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


class LogSubscriptions:
    def __init__(
        self,
        clients: Callable[[str], Any],
        subscriptions: list[Subscription],
        log_groups: dict[str, str],
        denial: Callable[[Subscription], str | None] = lambda _: None,
    ) -> None:
        self._client = clients
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
        self._pending.join()

    def _deliver_forever(self) -> None:
        """Like Firehose, buffers briefly: one PutRecordBatch per stream per BUFFER_S, not one per invoke
        (which cost every request a round trip to moto in the same process)."""
        while True:
            batch = [self._pending.get()]
            time.sleep(BUFFER_S)
            while not self._pending.empty():
                batch.append(self._pending.get_nowait())
            by_stream: dict[str, list[str]] = {}
            for stream, lines in batch:
                by_stream.setdefault(stream, []).extend(lines)
            try:
                for stream, lines in by_stream.items():
                    for start in range(0, len(lines), FIREHOSE_BATCH):
                        records = [{"Data": (line.rstrip("\n") + "\n").encode()} for line in lines[start : start + FIREHOSE_BATCH]]
                        self._client("firehose").put_record_batch(DeliveryStreamName=stream, Records=records)
            except Exception as error:  # noqa: BLE001 - one failed delivery must not stop the thread
                print(f"local log subscriptions: {error!r}", flush=True)
            finally:
                for _ in batch:
                    self._pending.task_done()
