"""The service limits local mode enforces where moto does not, with AWS's numbers and answers.

Lambda: 6 MB for a synchronous request and its response, 1 MB for an asynchronous (event)
request (the Invoke API reference; it was 256 KB before 2025), the function's own timeout and
memory. Step Functions: 256 KiB of state input or output (moto's engine checks it; local mode makes
the error terminal, as AWS does), 25,000 events of execution history. moto itself refuses
DynamoDB items over 400 KB and SQS messages over the queue's maximum size.
"""

from __future__ import annotations

LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
LAMBDA_ASYNC_PAYLOAD_BYTES = 1024 * 1024
STATE_PAYLOAD_BYTES = 256 * 1024
EXECUTION_HISTORY_EVENTS = 25_000


def request_too_large(size: int, asynchronous: bool) -> dict[str, str] | None:
    limit = LAMBDA_ASYNC_PAYLOAD_BYTES if asynchronous else LAMBDA_SYNC_PAYLOAD_BYTES
    if size <= limit:
        return None
    kind = "asynchronous (Event)" if asynchronous else "synchronous (RequestResponse)"
    return {
        "errorType": "RequestEntityTooLargeException",
        "errorMessage": f"Request must be smaller than {limit} bytes for a {kind} invocation; this one is {size} bytes",
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
