"""The files endpoint in-process (api/files): upload, download, ranges, delete, tenancy, traversal, limits, disk
full and broken bodies, against the session's real PostgreSQL and a temporary files root."""

from __future__ import annotations

import errno
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskstream.api.app import create_app
from taskstream.api.context import AppContext
from taskstream.api.files import upload as upload_module
from taskstream.api.files.storage import STALE_TEMP_SECONDS, FileSettings, FileStore
from tests.conftest import Tenant, make_tenant

LIMIT = 256 * 1024


@pytest.fixture
async def files_http(ctx: AppContext, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(None, files=FileSettings(root=tmp_path / "files", max_upload_bytes=LIMIT))
    app.state.ctx = ctx
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://taskstream") as client:
        yield client


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "files"


@pytest.fixture
async def alice(ctx: AppContext, files_http: httpx.AsyncClient) -> Tenant:
    return await make_tenant(ctx, files_http, "alice")


@pytest.fixture
async def bob(ctx: AppContext, files_http: httpx.AsyncClient) -> Tenant:
    return await make_tenant(ctx, files_http, "bob")


def multipart(*files: tuple[str, bytes, str]) -> tuple[bytes, dict[str, str]]:
    """A multipart body as the SDK's MultipartEncoder sends it: field name = file name = the file's path."""
    boundary = "b0undary5f3c"
    body = b""
    for name, data, content_type in files:
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n").encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def upload(tenant: Tenant, name: str, data: bytes, content_type: str = "text/csv",
                 url: str = "/files") -> httpx.Response:
    body, headers = multipart((name, data, content_type))
    return await tenant.raw(url, content=body, headers=headers)


def leftovers(root: Path) -> list[str]:
    temp = root / "tmp"
    return sorted(p.name for p in temp.iterdir()) if temp.is_dir() else []


async def test_uploaded_bytes_download_unchanged_with_their_type_and_catalogue_row(
        alice: Tenant, ctx: AppContext, root: Path) -> None:
    data = os.urandom(100_000)
    response = await upload(alice, "/proj/task.1/artifacts/a b/data.csv", data)
    assert (response.status_code, response.json()) == (200, ["proj/task.1/artifacts/a b/data.csv"])

    got = await alice.raw("/files/proj/task.1/artifacts/a%20b/data.csv", method="GET")
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"].startswith("text/csv")
    assert got.headers["content-length"] == str(len(data))
    head = await alice.raw("/files/proj/task.1/artifacts/a%20b/data.csv", method="HEAD")
    assert (head.status_code, head.headers["content-length"], head.content) == (200, str(len(data)), b"")
    assert (root / "companies" / alice.company / "proj" / "task.1" / "artifacts" / "a b" / "data.csv").read_bytes() \
        == data
    row = await ctx.pool.fetchrow("SELECT * FROM files WHERE company = $1", alice.company)
    assert (row["path"], row["size"], row["sha256"], row["uploaded_by"]) == (
        "proj/task.1/artifacts/a b/data.csv", len(data), hashlib.sha256(data).hexdigest(), alice.user)
    assert leftovers(root) == []


async def test_an_uploaded_page_is_served_inert(alice: Tenant) -> None:
    await upload(alice, "/pages/x.html", b"<script>fetch('/tasks.get_all')</script>", "text/html")
    page = await alice.raw("/files/pages/x.html", method="GET")
    assert "sandbox" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_post_to_a_path_stores_fields_below_it(alice: Tenant) -> None:
    response = await upload(alice, "x.txt", b"below", url="/files/base/dir")
    assert response.json() == ["base/dir/x.txt"]
    assert (await alice.raw("/files/base/dir/x.txt", method="GET")).content == b"below"


async def test_several_parts_in_one_post_are_all_stored(alice: Tenant) -> None:
    body, headers = multipart(("/m/one.bin", b"1" * 10, "application/octet-stream"),
                              ("/m/two.json", b"{}", "application/json"))
    response = await alice.raw("/files", content=body, headers=headers)
    assert response.json() == ["m/one.bin", "m/two.json"]
    two = await alice.raw("/files/m/two.json", method="GET")
    assert (two.content, two.headers["content-type"]) == (b"{}", "application/json")


async def test_an_upload_replaces_the_file_at_its_path(alice: Tenant) -> None:
    await upload(alice, "r.txt", b"first version")
    await upload(alice, "r.txt", b"second")
    assert (await alice.raw("/files/r.txt", method="GET")).content == b"second"


async def test_range_request_answers_206_with_the_requested_bytes(alice: Tenant) -> None:
    data = bytes(range(256)) * 40
    await upload(alice, "/ranges/blob.bin", data, "application/octet-stream")
    part = await alice.raw("/files/ranges/blob.bin", method="GET", headers={"Range": "bytes=100-299"})
    assert part.status_code == 206
    assert part.content == data[100:300]
    assert part.headers["content-range"] == f"bytes 100-299/{len(data)}"
    tail = await alice.raw("/files/ranges/blob.bin", method="GET", headers={"Range": "bytes=-10"})
    assert (tail.status_code, tail.content) == (206, data[-10:])
    beyond = await alice.raw("/files/ranges/blob.bin", method="GET", headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416


async def test_another_company_can_neither_read_nor_delete(alice: Tenant, bob: Tenant) -> None:
    await upload(alice, "/secret/weights.bin", b"alice's bytes")
    read = await bob.raw("/files/secret/weights.bin", method="GET")
    assert read.status_code == 404 and b"alice's bytes" not in read.content
    assert (await bob.raw("/files/secret/weights.bin", method="HEAD")).status_code == 404
    assert (await bob.raw("/files/secret/weights.bin", method="DELETE")).status_code == 404
    assert (await alice.raw("/files/secret/weights.bin", method="GET")).content == b"alice's bytes"


async def test_every_call_needs_credentials(alice: Tenant, files_http: httpx.AsyncClient) -> None:
    await upload(alice, "/auth/f.txt", b"x")
    assert (await files_http.get("/files/auth/f.txt")).status_code == 401
    assert (await files_http.delete("/files/auth/f.txt")).status_code == 401
    body, headers = multipart(("/auth/g.txt", b"y", "text/plain"))
    assert (await files_http.post("/files", content=body, headers=headers)).status_code == 401
    wrong = await files_http.get("/files/auth/f.txt", headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401


async def test_a_bearer_token_from_auth_login_works(alice: Tenant, files_http: httpx.AsyncClient) -> None:
    token = (await alice.call("auth.login"))["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    body, headers = multipart(("/tok/f.txt", b"by token", "text/plain"))
    assert (await files_http.post("/files", content=body, headers={**headers, **bearer})).status_code == 200
    assert (await files_http.get("/files/tok/f.txt", headers=bearer)).content == b"by token"


async def test_delete_removes_the_file_its_row_and_empty_folders(alice: Tenant, ctx: AppContext, root: Path) -> None:
    await upload(alice, "/gone/deep/f.txt", b"bye")
    await upload(alice, "/gone/keep.txt", b"stay")
    deleted = await alice.raw("/files/gone/deep/f.txt", method="DELETE")
    assert (deleted.status_code, deleted.json()) == (200, {"deleted": "gone/deep/f.txt"})
    assert (await alice.raw("/files/gone/deep/f.txt", method="GET")).status_code == 404
    assert (await alice.raw("/files/gone/deep/f.txt", method="DELETE")).status_code == 404
    assert not (root / "companies" / alice.company / "gone" / "deep").exists()
    assert (root / "companies" / alice.company / "gone" / "keep.txt").exists()
    rows = await ctx.pool.fetch("SELECT path FROM files WHERE company = $1", alice.company)
    assert [r["path"] for r in rows] == ["gone/keep.txt"]


@pytest.mark.parametrize("path", [
    "/files/%2e%2e/%2e%2e/etc/passwd", "/files/a/%2E%2E/b", "/files/a%2fb", "/files/a%2F..%2Fb", "/files/a%5cb",
    "/files/a%00b", "/files//etc/passwd", "/files/a/",
])
async def test_traversal_urls_are_refused_with_400(alice: Tenant, path: str) -> None:
    for method in ("GET", "DELETE"):
        assert (await alice.raw(path, method=method)).status_code == 400, (method, path)


@pytest.mark.parametrize("name", ["../escape.txt", "a/../../escape.txt", "a\\b.txt", "./x", "a//b"])
async def test_traversal_field_names_are_refused_with_400_and_store_nothing(alice: Tenant, root: Path,
                                                                           name: str) -> None:
    response = await upload(alice, name, b"evil")
    assert response.status_code == 400
    assert not list(root.rglob("escape.txt")) and leftovers(root) == []


async def test_symbolic_links_are_refused(alice: Tenant, root: Path, tmp_path: Path) -> None:
    await upload(alice, "/real/f.txt", b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside the root")
    (root / "companies" / alice.company / "link").symlink_to(outside)
    assert (await alice.raw("/files/link/secret.txt", method="GET")).status_code == 400
    assert (await upload(alice, "/link/new.txt", b"y")).status_code == 400
    assert not (outside / "new.txt").exists()


async def test_an_upload_over_the_limit_is_413_and_leaves_nothing(alice: Tenant, root: Path) -> None:
    body, headers = multipart(("/big/too.bin", b"\0" * (LIMIT + 1), "application/octet-stream"))

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: the limit is found while reading
        for start in range(0, len(body), 16 * 1024):
            yield body[start:start + 16 * 1024]

    response = await alice.http.post("/files", content=streamed(), headers={**alice.auth_header, **headers})
    assert response.status_code == 413
    assert not (root / "companies" / alice.company / "big").exists() and leftovers(root) == []
    declared = await alice.raw("/files", content=body, headers=headers)
    assert declared.status_code == 413
    at_limit, headers = multipart(("/big/fits.bin", b"\0" * LIMIT, "application/octet-stream"))
    assert (await alice.raw("/files", content=at_limit, headers=headers)).status_code == 200


async def test_a_full_disk_is_507_and_leaves_nothing(alice: Tenant, root: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    class FullDisk:
        def __init__(self, path: Any, mode: str) -> None:
            self.file = open(path, mode)  # noqa: SIM115

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name: str) -> Any:
            return getattr(self.file, name)

    monkeypatch.setattr(upload_module, "open", FullDisk, raising=False)
    response = await upload(alice, "/full/f.bin", b"x" * 1000)
    assert response.status_code == 507 and "storage" in response.text.lower()
    assert not (root / "companies" / alice.company / "full").exists() and leftovers(root) == []


async def test_a_body_ending_inside_a_part_stores_nothing(alice: Tenant, root: Path) -> None:
    body, headers = multipart(("/cut/f.bin", b"z" * 5000, "application/octet-stream"))
    response = await alice.raw("/files", content=body[:3000], headers=headers)
    assert response.status_code == 400
    assert not (root / "companies" / alice.company / "cut").exists() and leftovers(root) == []


async def test_a_non_multipart_post_is_400(alice: Tenant) -> None:
    response = await alice.raw("/files/x.txt", content=b"raw", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400


async def test_a_file_where_a_folder_is_needed_is_400(alice: Tenant) -> None:
    await upload(alice, "/clash", b"a file")
    assert (await upload(alice, "/clash/inner.txt", b"x")).status_code == 400
    assert (await upload(alice, "/dir/f.txt", b"x")).status_code == 200
    assert (await upload(alice, "/dir", b"x")).status_code == 400


async def test_api_endpoints_still_answer_beside_the_files_routes(alice: Tenant) -> None:
    assert (await alice.call("projects.get_all"))["projects"] is not None


def test_temporary_files_left_by_a_crash_are_swept_once_stale(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    stale, live = store.new_temp(), store.new_temp()
    os.utime(stale, (time.time() - STALE_TEMP_SECONDS - 5,) * 2)
    assert store.sweep_temps() == 1
    assert not stale.exists() and live.exists()


async def test_part_headers_are_bounded_and_form_fields_count_toward_the_limit(alice: Tenant, root: Path) -> None:
    boundary = "b0undary5f3c"
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    huge_header = (f'--{boundary}\r\nContent-Disposition: form-data; name="/h.bin"; filename="/h.bin"\r\n'
                   f"X-Padding: {'p' * 20_000}\r\n\r\nx\r\n--{boundary}--\r\n").encode()
    assert (await alice.raw("/files", content=huge_header, headers=headers)).status_code == 400
    field = (f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\n{"f" * (LIMIT + 1)}\r\n'
             f"--{boundary}--\r\n").encode()
    assert (await alice.raw("/files", content=field, headers=headers)).status_code == 413
    assert leftovers(root) == []
