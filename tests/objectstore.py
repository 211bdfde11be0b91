"""A real S3-compatible server for the tests: moto's server mode, started as a process.

The tests reach it over loopback with boto3 exactly as production reaches MinIO or AWS S3; no
code of ours is replaced. Each test gets a bucket of its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ACCESS_KEY = "markwatch-test"
SECRET_KEY = "markwatch-test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    """``python -m moto.server`` on a free loopback port."""

    def __init__(self, log_dir: Path, port: int | None = None):
        self.port = port or free_port()
        self.log_path = log_dir / f"s3-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"moto server on {self.port} did not answer")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def env(self, bucket: str, prefix: str = "evidence") -> dict[str, str]:
        """The settings a markwatch process needs to keep its evidence in ``bucket``."""
        return {
            "MARKWATCH_EVIDENCE_URL": f"s3://{bucket}/{prefix}",
            "MARKWATCH_S3_ENDPOINT_URL": self.endpoint,
            "MARKWATCH_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "MARKWATCH_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "MARKWATCH_S3_REGION": "us-east-1",
        }

    def new_bucket(self) -> str:
        from storage.s3 import S3Store

        name = f"mw-{uuid.uuid4().hex[:16]}"
        S3Store(name, endpoint_url=self.endpoint, access_key_id=ACCESS_KEY,
                secret_access_key=SECRET_KEY).init()
        return name

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name="us-east-1")


def overwrite(store, s3_server: S3Server | None, key: str, data: bytes) -> None:
    """Replace an object behind the store's back, as someone with write access to the directory
    or the bucket could (the store itself never overwrites)."""
    from storage.local import LocalStore

    if isinstance(store, LocalStore):
        path = store.path(key)
        path.chmod(0o644)
        path.write_bytes(data)
    else:
        assert s3_server is not None
        s3_server.client().put_object(Bucket=store.bucket, Key=store.prefix + key, Body=data)
