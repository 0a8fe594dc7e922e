"""The service limits local mode enforces where moto does not, with AWS's numbers and answers.

Lambda: 6 MB for a synchronous request and its response, 1 MB for an asynchronous (event)
request (the Invoke API reference; it was 256 KB before 2025), the function's own timeout and
memory. Step Functions: 256 KiB of state input or output (moto's engine checks it; local mode makes
the error terminal, as AWS does), 25,000 events of execution history. moto itself refuses
DynamoDB items over 400 KB and SQS messages over the queue's maximum size. EventBridge: a PutEvents
request whose entries add up to over 256 KB fails the call (checked in the function's process, like IAM).
"""

from __future__ import annotations

import json
import sys
from typing import Any

LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
LAMBDA_ASYNC_PAYLOAD_BYTES = 1024 * 1024
STATE_PAYLOAD_BYTES = 256 * 1024
EXECUTION_HISTORY_EVENTS = 25_000


def request_too_large(size: int, asynchronous: bool) -> dict[str, str] | None:
    limit = LAMBDA_ASYNC_PAYLOAD_BYTES if asynchronous else LAMBDA_SYNC_PAYLOAD_BYTES
    if size <= limit:
        return None
    kind = "an asynchronous (Event)" if asynchronous else "a synchronous (RequestResponse)"
    return {
        "errorType": "RequestEntityTooLargeException",
        "errorMessage": f"Request must be smaller than {limit} bytes for {kind} invocation; this one is {size} bytes",
    }


def response_too_large(size: int) -> dict[str, str] | None:
    if size <= LAMBDA_SYNC_PAYLOAD_BYTES:
        return None
    return {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": f"Response payload size ({size} bytes) exceeded maximum allowed payload size ({LAMBDA_SYNC_PAYLOAD_BYTES} bytes).",
    }


def out_of_memory(request_id: str) -> dict[str, str]:
    return {"errorType": "Runtime.OutOfMemory", "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"}


EVENTBRIDGE_REQUEST_BYTES = 256 * 1024


def put_events_entry_size(entry: dict[str, Any]) -> int:
    """PutEvents' size of one entry, as EventBridge computes it: 14 bytes for a Time, the UTF-8
    bytes of Source, DetailType, Detail and each Resource."""
    size = 14 if entry.get("Time") else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key, "")).encode())
    return size + sum(len(str(resource).encode()) for resource in entry.get("Resources", []))


def install(events: Any) -> None:
    """Hooks a botocore event emitter so a request over the limits above fails before it is sent.

    Loaded by the Lambda worker by its path, like local/iam.py: standard library only (botocore,
    the runtime's, when a request is refused).
    """

    def check_put_events(params: dict[str, Any], **_: Any) -> Any:
        body = params.get("body") or b"{}"
        entries = json.loads(body).get("Entries", [])  # bytes or text: json reads both
        total = sum(put_events_entry_size(entry) for entry in entries)  # the limit is the request's, not an entry's
        if total <= EVENTBRIDGE_REQUEST_BYTES:
            return None
        from botocore.awsrequest import AWSResponse

        message = (
            "Total size of the entries in the request is over the limit:"
            f" {total} bytes in {len(entries)} entries, at most {EVENTBRIDGE_REQUEST_BYTES}"
        )
        # Flushed so the line keeps its place among the function's other log lines (not observable in a test).
        print(f"local limits: events:PutEvents {message}", file=sys.stderr, flush=True)  # pragma: no mutate
        status = 400
        metadata = {"HTTPStatusCode": status, "HTTPHeaders": {}}
        return AWSResponse("", status, {}, None), {
            "Error": {"Code": "ValidationException", "Message": message},
            "ResponseMetadata": metadata,
        }

    events.register("before-call.events.PutEvents", check_put_events, unique_id="local-limits-put-events")
