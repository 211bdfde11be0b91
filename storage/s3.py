"""Any S3-compatible service as the object store (AWS S3, MinIO), through boto3.

Write-once: each put carries ``If-None-Match: *``, so the service itself refuses to replace an
object (AWS S3 and MinIO honour it). A service that does not implement conditional writes answers
501 or 400; the store then falls back to asking first (HEAD, then PUT) for the rest of the
process, which is safe because two writers of one key write the same bytes. Every put also sends
the object's SHA-256 checksum, so the service rejects bytes damaged on the way.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO

from storage.base import ObjectInfo, ObjectMissing, ObjectStore, StoreError, check_key

_MISSING = {"404", "NoSuchKey", "NotFound"}
_CONDITION_UNSUPPORTED = {"NotImplemented", "501", "InvalidArgument", "InvalidRequest"}


class S3Store(ObjectStore):
    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None,
                 region: str | None = None, client: Any = None):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.location = f"s3://{bucket}/{self.prefix}"
        self.conditional_puts = True
        self._lock = threading.Lock()
        config = Config(
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            # MinIO and other self-hosted services are reached by address: path-style URLs
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        )
        self.client = client or boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region or "us-east-1",
            config=config,
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _fail(self, what: str, key: str, exc: Exception) -> StoreError:
        return StoreError(f"{self.location}: cannot {what} {key}: {exc}")

    def _put_once(self, key: str, data: bytes, content_type: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        args = {
            "Bucket": self.bucket, "Key": self._key(key), "Body": data,
            "ContentType": content_type,
            "ChecksumSHA256": base64.b64encode(hashlib.sha256(data).digest()).decode("ascii"),
        }
        if not self.conditional_puts and self.exists(key):
            return False
        try:
            if self.conditional_puts:
                self.client.put_object(IfNoneMatch="*", **args)
            else:
                self.client.put_object(**args)
            return True
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (
                "412", "409"
            ):
                return False  # already there: written once, by us or by another worker
            if self.conditional_puts and (code in _CONDITION_UNSUPPORTED or status == "501"):
                with self._lock:
                    self.conditional_puts = False
                return self._put_once(key, data, content_type)
            raise self._fail("write", key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("write", key, exc) from exc

    def open(self, key: str, offset: int = 0) -> BinaryIO:
        from botocore.exceptions import BotoCoreError, ClientError

        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key)}
        if offset:
            args["Range"] = f"bytes={offset}-"
        try:
            return self.client.get_object(**args)["Body"]
        except ClientError as exc:
            if _missing(exc):
                raise ObjectMissing(f"{key}: missing from {self.location}") from None
            raise self._fail("read", key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("read", key, exc) from exc

    def size(self, key: str) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _missing(exc):
                raise ObjectMissing(f"{key}: missing from {self.location}") from None
            raise self._fail("inspect", key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("inspect", key, exc) from exc
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("delete", key, exc) from exc

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        from botocore.exceptions import BotoCoreError, ClientError

        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        try:
            for page in pages:
                for obj in page.get("Contents", ()):
                    yield ObjectInfo(obj["Key"][len(self.prefix):], int(obj["Size"]),
                                     obj["LastModified"])
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"{self.location}: cannot list {prefix!r}: {exc}") from exc

    def init(self) -> bool:
        """Create the bucket if it does not exist; True if it was created."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
            return False
        except ClientError as exc:
            if not _missing(exc):
                raise StoreError(f"{self.location}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"{self.location}: {exc}") from exc
        region = self.client.meta.region_name
        args: dict[str, Any] = {"Bucket": self.bucket}
        if region and region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**args)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"{self.location}: cannot create the bucket: {exc}") from exc
        return True


def _missing(exc: Any) -> bool:
    err = exc.response.get("Error", {})
    status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return str(err.get("Code", "")) in _MISSING or status == "404"
