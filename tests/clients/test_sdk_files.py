"""The real `clearml` SDK's artifact uploads and downloads against the files endpoint of a real `taskstream serve`
(issue 10 §1), and the files endpoint's refusals over real HTTP connections."""

from __future__ import annotations

import base64
import http.client
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import asyncpg
import httpx
import pytest

from taskstream.commands.accounts import DEFAULT_COMPANY, add_credentials, create_user, generate_key_pair
from taskstream.schemas.ids import new_id
from tests.clients.conftest import Clients, Server

pytestmark = pytest.mark.clients

ARTIFACTS_FLOW = """
    import hashlib, json, os
    import numpy as np
    from clearml import Task
    from clearml.storage.helper import StorageHelper

    def digest(path):
        return hashlib.sha256(open(path, "rb").read()).hexdigest()

    def tree(folder):
        return {{os.path.relpath(os.path.join(d, f), folder): digest(os.path.join(d, f))
                for d, _, files in os.walk(folder) for f in files}}

    blob = os.urandom(300_000)
    open("blob.bin", "wb").write(blob)
    os.makedirs("folder/sub")
    open("folder/a.txt", "w").write("alpha\\n")
    open("folder/sub/b.bin", "wb").write(os.urandom(5000))
    array = np.arange(2000, dtype=np.float32).reshape(20, 100) / 7
    data = {{"lr": 0.1, "layers": [1, 2, 3], "name": "naïve ✓"}}

    task = Task.init(project_name="{project}", task_name="artifact flow")
    task.upload_artifact("file", artifact_object="blob.bin", wait_on_upload=True)
    task.upload_artifact("folder", artifact_object="folder", wait_on_upload=True)
    task.upload_artifact("dict", artifact_object=data, wait_on_upload=True)
    task.upload_artifact("array", artifact_object=array, wait_on_upload=True)
    task_id = task.id
    task.close()

    again = Task.get_task(task_id=task_id)
    artifacts = again.artifacts
    file_copy = artifacts["file"].get_local_copy(force_download=True)
    folder_copy = artifacts["folder"].get_local_copy(force_download=True)
    got_dict = artifacts["dict"].get(force_download=True)
    got_array = artifacts["array"].get(force_download=True)
    dict_url = artifacts["dict"].url
    helper = StorageHelper.get(dict_url)
    exists_before = helper.exists_file(dict_url)
    deleted = helper.delete(dict_url)
    exists_after = helper.exists_file(dict_url)
    print("RESULT " + json.dumps({{
        "task": task_id,
        "urls": {{name: a.url for name, a in artifacts.items()}},
        "file_same": open(file_copy, "rb").read() == blob,
        "folder_same": tree(folder_copy) == tree("folder"),
        "dict_same": got_dict == data,
        "array_same": isinstance(got_array, np.ndarray) and got_array.dtype == array.dtype
                      and got_array.shape == array.shape and got_array.tobytes() == array.tobytes(),
        "blob_sha256": hashlib.sha256(blob).hexdigest(),
        "exists_before": exists_before, "deleted": deleted, "exists_after": exists_after,
    }}))
"""


def _basic(access_key: str, secret_key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{access_key}:{secret_key}".encode()).decode()}


def _files_root(server: Server) -> Path:
    return server.output.parent / "files"  # `--home` of the test server holds serve.log and the files folder


def _path_of(server: Server, url: str) -> str:
    """The stored path (unquoted) of a file URL the SDK recorded (it quotes the path)."""
    prefix = f"{server.url}/files/"
    assert url.startswith(prefix), url
    return unquote(url[len(prefix):])


@pytest.fixture(scope="module")
def artifact_run(clients_python: Path, server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    clients = Clients(clients_python, server, tmp_path_factory.mktemp("sdk-files"))
    run = clients.run(ARTIFACTS_FLOW.format(project=f"files-{uuid.uuid4().hex[:8]}"), timeout=240)
    result: dict[str, Any] = run.result()
    assert run.returncode == 0, run.stderr
    return result


def test_artifacts_of_every_kind_read_back_byte_for_byte(artifact_run: dict[str, Any], server: Server) -> None:
    assert artifact_run["file_same"] and artifact_run["folder_same"]
    assert artifact_run["dict_same"] and artifact_run["array_same"]
    for url in artifact_run["urls"].values():
        assert url.startswith(f"{server.url}/files/"), url
    stored = _files_root(server) / "companies" / DEFAULT_COMPANY
    blob = stored / _path_of(server, artifact_run["urls"]["file"])
    assert blob.stat().st_size == 300_000
    assert not list((_files_root(server) / "tmp").iterdir())


async def test_uploads_are_catalogued_with_owner_size_and_digest(artifact_run: dict[str, Any], server: Server,
                                                                 database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        path = _path_of(server, artifact_run["urls"]["file"])
        row = await conn.fetchrow("SELECT * FROM files WHERE company = $1 AND path = $2", DEFAULT_COMPANY,
                                  path)
    finally:
        await conn.close()
    assert row is not None
    assert (row["size"], row["sha256"], row["uploaded_by"]) == (300_000, artifact_run["blob_sha256"], "__admin__")


def test_the_sdk_driver_checks_and_deletes_a_file(artifact_run: dict[str, Any], server: Server) -> None:
    assert (artifact_run["exists_before"], artifact_run["deleted"], artifact_run["exists_after"]) == (
        True, True, False)
    gone = httpx.get(artifact_run["urls"]["dict"], headers=_basic(server.access_key, server.secret_key))
    assert gone.status_code == 404


def test_range_request_over_http_answers_206(artifact_run: dict[str, Any], server: Server) -> None:
    url = artifact_run["urls"]["file"]
    auth = _basic(server.access_key, server.secret_key)
    whole = httpx.get(url, headers=auth).content
    part = httpx.get(url, headers={**auth, "Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == whole[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(whole)}"


@pytest.fixture(scope="module")
async def other_company(database_url: str) -> AsyncIterator[dict[str, str]]:
    conn = await asyncpg.connect(database_url)
    try:
        user = await create_user(conn, "intruder", new_id(), "other company")
        key, secret = generate_key_pair()
        await add_credentials(conn, user, key, secret)
    finally:
        await conn.close()
    yield _basic(key, secret)


def test_another_company_cannot_download_or_delete(artifact_run: dict[str, Any], server: Server,
                                                   other_company: dict[str, str]) -> None:
    url = artifact_run["urls"]["file"]
    read = httpx.get(url, headers=other_company)
    assert read.status_code in (403, 404) and len(read.content) < 1000
    assert httpx.delete(url, headers=other_company).status_code in (403, 404)
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=_basic(server.access_key, server.secret_key)).status_code == 200


def _raw_status(server: Server, method: str, path: str, headers: dict[str, str] | None = None) -> int:
    """The status of a request sent with its path exactly as given (http.client does not normalise `..`)."""
    address = urlsplit(server.url)
    conn = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        conn.request(method, path, headers={**_basic(server.access_key, server.secret_key), **(headers or {})})
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.parametrize("path", [
    "/files/../etc/passwd", "/files/a/../../b", "/files/%2e%2e/%2e%2e/etc/passwd", "/files/a%2f..%2f..%2fb",
    "/files/a%5c..%5cb", "/files/a%00b", "/files//etc/passwd", "/files/a\\..\\b",
])
def test_traversal_paths_are_refused_with_400(server: Server, path: str) -> None:
    assert _raw_status(server, "GET", path) == 400
    assert _raw_status(server, "DELETE", path) == 400


def test_a_declared_oversized_upload_is_413_before_any_byte_is_stored(server: Server) -> None:
    address = urlsplit(server.url)
    conn = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        conn.putrequest("POST", "/files")
        for name, value in {**_basic(server.access_key, server.secret_key),
                            "Content-Type": "multipart/form-data; boundary=xyz",
                            "Content-Length": str(6 * 1024**3)}.items():
            conn.putheader(name, value)
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()


def _wait_for(predicate: Any, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_connection_cut_mid_upload_leaves_no_file_and_no_temp(server: Server) -> None:
    name = f"cut-{uuid.uuid4().hex[:8]}/partial.bin"
    head = (f'--xyz\r\nContent-Disposition: form-data; name="/{name}"; filename="/{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    temp = _files_root(server) / "tmp"
    address = urlsplit(server.url)
    auth = _basic(server.access_key, server.secret_key)["Authorization"]
    with socket.create_connection((address.hostname or "", address.port or 80)) as sock:
        sock.sendall((f"POST /files HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: {auth}\r\n"
                      "Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 50000000\r\n\r\n").encode()
                     + head)
        for _ in range(40):
            sock.sendall(b"\x01" * 65536)  # 2.5 MB of the 50 MB announced: streamed to a temporary file
        assert _wait_for(lambda: temp.is_dir() and any(temp.iterdir())), "the upload never reached the disk"
    assert _wait_for(lambda: not any(temp.iterdir())), "the temporary file of the cut upload was left behind"
    url = f"{server.url}/files/{quote(name)}"
    assert httpx.get(url, headers=_basic(server.access_key, server.secret_key)).status_code == 404
    assert not (_files_root(server) / "companies" / DEFAULT_COMPANY / name).exists()


TASK_DELETE_FLOW = """
    import json
    from clearml import Task

    task = Task.init(project_name="{project}", task_name="deleted with its artifacts")
    task.upload_artifact("weights", artifact_object={{"w": [1, 2, 3]}}, wait_on_upload=True)
    url = task.artifacts["weights"].url
    task.close()
    task.delete(delete_artifacts_and_models=True, raise_on_error=True)
    print("RESULT " + json.dumps({{"url": url}}))
"""


def test_task_delete_with_artifacts_removes_their_files(clients: Clients) -> None:
    # The SDK lists the task's models (`models.get_all`) and debug-image events (`events.get_task_events`)
    # before deleting, then deletes the files itself.
    run = clients.run(TASK_DELETE_FLOW.format(project=f"files-del-{uuid.uuid4().hex[:8]}"), timeout=180)
    result = run.result()
    assert run.returncode == 0, run.stderr
    response = httpx.get(result["url"], headers=_basic(clients.server.access_key, clients.server.secret_key))
    assert response.status_code == 404


def test_the_printed_clearml_conf_points_files_server_at_the_files_endpoint(server: Server) -> None:
    assert f'files_server: "{server.url}/files"' in server.printed()
