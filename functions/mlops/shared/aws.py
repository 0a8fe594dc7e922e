"""boto3 clients, created once per process and reused across invocations, and the paging calls they share."""

from functools import cache
from typing import Any

import boto3


@cache
def client(service: str) -> Any:
    return boto3.client(service)


@cache
def table(name: str) -> Any:
    return boto3.resource("dynamodb").Table(name)


def delete_prefix(s3: Any, bucket: str, prefix: str) -> int:
    """Deletes every object under `prefix` (a page of up to 1,000 keys per request); how many."""
    removed = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            removed += len(keys)
    return removed


def query_all(table_resource: Any, **args: Any) -> list[dict[str, Any]]:
    """Every item of a DynamoDB query, following LastEvaluatedKey."""
    items: list[dict[str, Any]] = []
    while True:
        page = table_resource.query(**args)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        args = {**args, "ExclusiveStartKey": page["LastEvaluatedKey"]}
