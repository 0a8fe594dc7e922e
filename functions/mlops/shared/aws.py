"""boto3 clients, created once per process and reused across invocations."""

from functools import cache
from typing import Any

import boto3


@cache
def client(service: str) -> Any:
    return boto3.client(service)


@cache
def table(name: str) -> Any:
    return boto3.resource("dynamodb").Table(name)


def query_all(table_resource: Any, **args: Any) -> list[dict[str, Any]]:
    """Every item of a DynamoDB query, following LastEvaluatedKey."""
    items: list[dict[str, Any]] = []
    while True:
        page = table_resource.query(**args)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        args = {**args, "ExclusiveStartKey": page["LastEvaluatedKey"]}
