"""The object store's promises, on a directory and on a real S3-compatible server: content
keys, write-once under races, no overwrite, corrupt objects named, no escape from the root."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from storage import ObjectConflict, ObjectMissing, StoreError, content_key, key_digest, open_store
from tests.objectstore import ACCESS_KEY, SECRET_KEY, overwrite


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return open_store((tmp_path / "objects").as_uri())
    server = request.getfixturevalue("s3_server")
    return open_store(f"s3://{server.new_bucket()}/some/prefix", endpoint_url=server.endpoint,
                      access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)


def test_objects_are_named_by_their_content_and_written_once(store):
    data = b"<html>captured page</html>"
    first = store.put("warc", data, suffix=".warc.gz")
    digest = hashlib.sha256(data).hexdigest()
    assert first.key == f"warc/{digest[:2]}/{digest}.warc.gz" == content_key("warc", data,
                                                                                ".warc.gz")
    assert key_digest(first.key) == digest and first.created and first.size == len(data)
    again = store.put("warc", data, suffix=".warc.gz")
    assert again.key == first.key and not again.created
    assert store.get(first.key) == data and store.size(first.key) == len(data)
    with store.open(first.key, offset=6) as fh:
        assert fh.read() == data[6:]
    assert store.verify(first.key) is None
    assert [o.key for o in store.list("warc/")] == [first.key]
    store.delete(first.key)
    store.delete(first.key)  # gone already: no error
    assert not store.exists(first.key)
    with pytest.raises(ObjectMissing):
        store.get(first.key)
    assert store.verify(first.key).endswith(f"missing from {store.location}")


def test_racing_writers_store_one_object(store):
    data = b"the same image, seen by sixteen workers at once" * 100
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: store.put("image", data, suffix=".jpg"), range(16)))
    assert len({r.key for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert store.get(results[0].key) == data


def test_a_corrupt_object_is_named_never_overwritten(store, request):
    data = b"original bytes"
    key = store.put("thumb", data).key
    forged = b"forged, and longer than the original"
    server = request.getfixturevalue("s3_server") if store.location.startswith("s3:") else None
    overwrite(store, server, key, forged)
    with pytest.raises(ObjectConflict, match="holds 36 bytes"):
        store.put("thumb", data)
    assert store.get(key) == forged  # the put did not repair it behind anyone's back
    assert "does not match its key" in store.verify(key)


def test_keys_cannot_leave_the_store(store):
    for bad in ("../outside", "/etc/passwd", "warc/../../x", "", "a//b", "a\\b"):
        with pytest.raises(ValueError):
            store.get(bad)
    for kind in ("../x", "Warc", "a/b", ""):
        with pytest.raises(ValueError):
            store.put(kind, b"x")
    with pytest.raises(ValueError):
        store.put("warc", b"x", suffix="/../../x")


def test_init_and_check(store):
    store.init()
    store.check()
    assert store.exists(content_key("check", b"markwatch object store check\n", ".txt"))


def test_s3_without_conditional_writes_checks_first(s3_server):
    """A service that ignores or refuses If-None-Match: the store asks before writing."""
    store = open_store(f"s3://{s3_server.new_bucket()}", endpoint_url=s3_server.endpoint,
                       access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)
    store.conditional_puts = False
    assert store.put("warc", b"one").created
    assert not store.put("warc", b"one").created
    assert [o.key for o in store.list()] == [content_key("warc", b"one")]


def test_prefixes_keep_installations_apart(s3_server):
    bucket = s3_server.new_bucket()
    a, b = (open_store(f"s3://{bucket}/{p}", endpoint_url=s3_server.endpoint,
                       access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY) for p in "ab")
    key = a.put("warc", b"only in a").key
    assert a.exists(key) and not b.exists(key)
    assert list(b.list()) == []


def test_bad_urls_and_unreachable_services_are_clear_errors(tmp_path):
    for url in ("ftp://x/y", "s3://", "s3:///prefix"):
        with pytest.raises(StoreError):
            open_store(url)
    dead = open_store("s3://bucket", endpoint_url="http://127.0.0.1:9", access_key_id="k",
                      secret_access_key="s")
    with pytest.raises(StoreError, match="cannot write"):
        dead.put("warc", b"x")
