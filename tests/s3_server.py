"""A local S3-compatible server for the shared-storage tests: moto's server (the `moto[server]` dev extra) in a
subprocess on 127.0.0.1, a bucket made with boto3. `s3_server` yields (endpoint URL, boto3 client, bucket)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from tests.prefect_server import free_port

BUCKET = "huunghi-test"
KEY_ID, SECRET, REGION = "testing-key", "testing-secret/with+signs", "us-east-1"  # moto accepts any


def _wait_for(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="module")
def s3_server():
    boto3 = pytest.importorskip("boto3", reason="the dev extra (moto[server]) is not installed")
    pytest.importorskip("moto.server", reason="the dev extra (moto[server]) is not installed")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, 60)
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, region_name=REGION
        )
        client.create_bucket(Bucket=BUCKET)
        yield endpoint, client, BUCKET
    finally:
        server.terminate()
        server.wait(30)


def keys(client, bucket: str, prefix: str) -> list[str]:
    """Every object's key under the prefix."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))
