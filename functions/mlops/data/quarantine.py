"""Rejected uploads are moved aside, never deleted: quarantine/<model>/<run>/ keeps the file and its report."""

from __future__ import annotations

from typing import Any

from mlops.shared.settings import QUARANTINE_PREFIX, REPORTS_PREFIX


def quarantine(s3: Any, source: dict[str, Any], model: str, run_id: str) -> str:
    """Moves a rejected upload (and its quality report, if any) under quarantine/; nothing is lost."""
    bucket, key = source["bucket"], source["key"]
    folder = f"{QUARANTINE_PREFIX}{model}/{run_id}"
    target = f"{folder}/{key.rsplit('/', 1)[-1]}"
    copy_source = {"Bucket": bucket, "Key": key, **({"VersionId": source["version_id"]} if source.get("version_id") else {})}
    s3.copy_object(Bucket=bucket, Key=target, CopySource=copy_source)
    report_key = f"{REPORTS_PREFIX}{model}/{run_id}/quality.json"
    if object_exists(s3, bucket, report_key):
        s3.copy_object(Bucket=bucket, Key=f"{folder}/quality.json", CopySource={"Bucket": bucket, "Key": report_key})
    s3.delete_object(Bucket=bucket, Key=key)  # a delete marker: the versioned bucket keeps the bytes too
    return target


def object_exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
