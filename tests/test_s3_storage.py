"""The warehouse's data files on S3-compatible storage (HUUNGHI_DATA_PATH=s3://…), reached through DuckDB's
httpfs with a secret built from the settings: against moto's server, started by the test on 127.0.0.1."""

from __future__ import annotations

import uuid

import duckdb
import pytest

from huunghi.warehouse import doctor, sandbox, store
from tests import s3_server as s3
from tests.s3_server import keys

pytestmark = pytest.mark.e2e  # a server process (moto) and `huunghi sql`'s child processes: not the fast tier
s3_server = s3.s3_server  # the server fixture, shared with the pipeline's test


def use_s3(monkeypatch, endpoint: str, bucket: str, *, read_key: bool = True) -> str:
    """Point the warehouse's data path at a fresh prefix of the bucket, with the standard AWS variables."""
    prefix = f"wh-{uuid.uuid4().hex[:8]}/"
    monkeypatch.setenv(store.DATA_PATH_VARIABLE, f"s3://{bucket}/{prefix}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.SECRET)
    monkeypatch.setenv("AWS_REGION", s3.REGION)
    monkeypatch.setenv("HUUNGHI_S3_ENDPOINT", endpoint)
    if read_key:  # moto checks no permissions: the same key stands for a read-only one
        monkeypatch.setenv("HUUNGHI_S3_READ_KEY_ID", s3.KEY_ID)
        monkeypatch.setenv("HUUNGHI_S3_READ_SECRET", s3.SECRET)
    return prefix


def small_warehouse(tmp_path):
    root = store.check_location(tmp_path / "wh", create=True)
    con = store.connect(root, read_only=False)
    try:
        con.execute("CREATE TABLE t AS SELECT range AS i FROM range(5)")
    finally:
        con.close()
    return root


def test_data_files_on_s3_with_a_secret_that_is_never_shown(s3_server, tmp_path, monkeypatch):
    endpoint, client, bucket = s3_server
    prefix = use_s3(monkeypatch, endpoint, bucket)
    root = small_warehouse(tmp_path)
    assert [k.rsplit("/", 1)[0] for k in keys(client, bucket, prefix)] == [f"{prefix}main/t"]
    assert not (root / "data").exists(), "nothing local under data/"
    con = store.connect(root, read_only=True)
    try:
        assert con.execute("SELECT sum(i) FROM t").fetchone()[0] == 10
        secrets = con.execute("SELECT name, persistent, scope, secret_string FROM duckdb_secrets()").fetchall()
    finally:
        con.close()
    [(name, persistent, scope, text)] = secrets
    assert (name, persistent, scope) == (store.S3_SECRET, False, [f"s3://{bucket}/{prefix}"])
    assert s3.SECRET not in text and "secret=redacted" in text and f"endpoint={endpoint[7:]}" in text
    assert s3.SECRET not in repr(store.environment())


def test_a_quote_in_a_setting_is_refused_without_showing_the_secret(s3_server, tmp_path, monkeypatch):
    endpoint, _, bucket = s3_server
    use_s3(monkeypatch, endpoint, bucket)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "abc', KEY_ID 'x")
    with pytest.raises(store.WarehouseError, match="SECRET contains quotes") as raised:
        store.check_location(tmp_path / "wh", create=True) and store.connect(tmp_path / "wh", read_only=False)
    assert "abc" not in str(raised.value)


def test_doctor_and_orphans_on_s3(s3_server, tmp_path, monkeypatch):
    endpoint, client, bucket = s3_server
    prefix = use_s3(monkeypatch, endpoint, bucket)
    root = small_warehouse(tmp_path)
    [kept] = keys(client, bucket, prefix)
    client.put_object(Bucket=bucket, Key=f"{prefix}main/t/left-by-a-killed-run.parquet", Body=b"PAR1")
    found = {f.check: f for f in doctor.examine(root, repair=False)}
    assert found["data files"].status == "ok" and found["data files"].detail.startswith("1 referenced")
    assert found["orphan files"].status == "problem" and "left-by-a-killed-run" in found["orphan files"].detail
    found = {f.check: f for f in doctor.examine(root, repair=True)}
    assert found["orphan files"].status == "fixed" and keys(client, bucket, prefix) == [kept]
    client.delete_object(Bucket=bucket, Key=kept)
    found = {f.check: f for f in doctor.examine(root, repair=False)}
    assert found["data files"].status == "problem" and "1 missing" in found["data files"].detail


def test_sandbox_reads_s3_with_the_read_only_key_only(s3_server, tmp_path, monkeypatch):
    endpoint, client, bucket = s3_server
    prefix = use_s3(monkeypatch, endpoint, bucket)
    root = small_warehouse(tmp_path)
    assert sandbox.run(root, "SELECT sum(i) AS s FROM t").rows == [(10,)]
    with pytest.raises(sandbox.QueryRefused):  # the statement screen, as on local files
        sandbox.run(root, f"COPY (SELECT 1) TO 's3://{bucket}/{prefix}x.parquet'")
    con = sandbox.connect(root)
    try:
        with pytest.raises(sandbox.ReadOnlyQuery):
            sandbox.check_query(con, "CREATE SECRET s (TYPE s3)")
        with pytest.raises(duckdb.PermissionException):  # only the data path: not the rest of the bucket
            con.execute(f"SELECT * FROM glob('s3://{bucket}/**')")
        with pytest.raises(duckdb.PermissionException):  # nor local files
            con.execute("SELECT * FROM read_text('/etc/hostname')")
    finally:
        con.close()
    assert len(keys(client, bucket, prefix)) == 1
    monkeypatch.delenv("HUUNGHI_S3_READ_SECRET")
    with pytest.raises(sandbox.QueryFailed, match="HUUNGHI_S3_READ_KEY_ID and HUUNGHI_S3_READ_SECRET"):
        sandbox.run(root, "SELECT sum(i) FROM t")
