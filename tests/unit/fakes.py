"""Small stand-ins for AWS clients where a unit test only needs an object store's read path."""

from __future__ import annotations

import io
from typing import Any

from botocore.response import StreamingBody


class FakeS3:
    def __init__(self, objects: dict[str, bytes] | None = None) -> None:
        self.objects = dict(objects or {})

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        data = self.objects[Key]
        return {"Body": StreamingBody(io.BytesIO(data), len(data))}

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        return {"ContentLength": len(self.objects[Key]), "ETag": '"etag"'}
