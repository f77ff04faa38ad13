"""Authentication (§2.1–2.3): Basic key pairs, `auth.login` tokens as Bearer and cookie, the 401 codes."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import jwt

from taskstream.api.context import AppContext
from tests.conftest import Tenant


async def code_of(http: httpx.AsyncClient, headers: dict[str, str] | None = None,
                  cookies: dict[str, str] | None = None) -> tuple[int, int, int, str]:
    http.cookies.clear()
    cookie = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    response = await http.post("/tasks.get_all", json={"page_size": 1}, headers={**(headers or {}), **cookie})
    meta = response.json()["meta"]
    return response.status_code, meta["result_code"], meta["result_subcode"], meta["result_msg"]


def basic(key: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


async def login(tenant: Tenant, **body: Any) -> str:
    token = (await tenant.call("auth.login", **body))["token"]
    tenant.http.cookies.clear()
    return str(token)


async def test_401_codes(http: httpx.AsyncClient, tenant: Tenant) -> None:
    assert await code_of(http) == (401, 401, 20, "Unauthorized (missing credentials)")
    assert await code_of(http, {"Authorization": "Digest abc"}) == \
        (401, 401, 10, "Unauthorized (bad authentication header type)")
    assert await code_of(http, {"Authorization": "Basic %%%not-base64"}) == \
        (401, 401, 21, "Unauthorized (malformed credentials) (Invalid base64-encoded string: number of data "
                       "characters (9) cannot be 1 more than a multiple of 4)")
    no_colon = base64.b64encode(b"just-a-key").decode()
    assert (await code_of(http, {"Authorization": f"Basic {no_colon}"}))[2] == 21
    assert await code_of(http, basic(tenant.access_key, "wrong")) == \
        (401, 401, 22, "Unauthorized (invalid credentials) (failed to locate provided credentials)")
    assert (await code_of(http, basic("NOSUCHKEY", "x")))[2] == 22
    status, _, subcode, msg = await code_of(http, {"Authorization": "Bearer not.a.token"})
    assert (status, subcode) == (401, 30) and msg.startswith("Invalid token (invalid jwt token): reason=")
    assert (await code_of(http, basic(tenant.access_key, tenant.secret_key)))[:3] == (200, 200, 0)


async def test_login_token_claims(tenant: Tenant) -> None:
    before = int(time.time())
    token = await login(tenant)
    assert token.count(".") == 2
    claims = jwt.decode(token, options={"verify_signature": False})
    version = tuple(int(p) for p in claims["api_version"].split("."))
    assert version >= (2, 23)
    assert claims["feature_set"] == "basic" and claims["server_version"] and claims["auth_type"] == "Bearer"
    assert claims["identity"]["company"] == tenant.company and claims["identity"]["user"] == tenant.user
    assert claims["identity"]["user_name"] == "tests"
    assert before - 5 <= claims["iat"] and claims["exp"] - claims["iat"] == 30 * 24 * 3600
    short = jwt.decode(await login(tenant, expiration_sec=60), options={"verify_signature": False})
    assert short["exp"] - short["iat"] == 60
    capped = jwt.decode(await login(tenant, expiration_sec=10**9), options={"verify_signature": False})
    assert capped["exp"] - capped["iat"] == 30 * 24 * 3600  # TASKSTREAM_MAX_TOKEN_SECONDS (the reference: 1 year)


async def test_login_sets_cookie(tenant: Tenant) -> None:
    response = await tenant.raw("/auth.login", {})
    token = response.json()["data"]["token"]
    assert f"clearml_token_basic={token}" in response.headers["set-cookie"]
    tenant.http.cookies.clear()


async def test_bearer_and_cookie_authenticate_as_the_token_identity(http: httpx.AsyncClient, tenant: Tenant) -> None:
    task_id = await tenant.create_task("mine")
    token = await login(tenant)
    response = await http.post("/tasks.get_by_id", json={"task": task_id},
                               headers={"Authorization": f"Bearer {token}"})
    assert response.json()["data"]["task"]["id"] == task_id
    http.cookies.clear()
    response = await http.post("/tasks.get_by_id", json={"task": task_id},  # a same-origin page's call
                               headers={"Cookie": f"clearml_token_basic={token}", "X-Requested-With": "fetch"})
    assert response.json()["data"]["task"]["id"] == task_id
    http.cookies.clear()
    created = await http.post("/tasks.create", json={"name": "by token", "type": "qc"},
                              headers={"Authorization": f"Bearer {token}"})
    new_id = created.json()["data"]["id"]
    assert (await tenant.call("tasks.get_by_id", task=new_id))["task"]["user"] == tenant.user


async def test_explicit_header_wins_over_cookie(http: httpx.AsyncClient, tenant: Tenant) -> None:
    token = await login(tenant)
    assert (await code_of(http, {"Authorization": "Basic %%%"}, {"clearml_token_basic": token}))[2] == 21
    assert (await code_of(http, None, {"clearml_token_basic": "garbage"}))[2] == 30


async def test_expired_or_foreign_token_is_401_30(ctx: AppContext, http: httpx.AsyncClient, tenant: Tenant) -> None:
    claims = jwt.decode(await login(tenant), options={"verify_signature": False})
    expired = jwt.encode({**claims, "exp": int(time.time()) - 10}, ctx.auth.token_secret, algorithm="HS256")
    status, _, subcode, msg = await code_of(http, {"Authorization": f"Bearer {expired}"})
    assert (status, subcode) == (401, 30) and "expired" in msg.lower()
    forged = jwt.encode(claims, "not-the-secret-not-the-secret-not-the-secret", algorithm="HS256")
    assert (await code_of(http, {"Authorization": f"Bearer {forged}"}))[2] == 30


async def test_server_info_is_public(http: httpx.AsyncClient) -> None:
    http.cookies.clear()
    response = await http.post("/server.info", json={})
    assert response.status_code == 200 and response.json()["data"]["api_version"]
