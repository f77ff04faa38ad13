"""`auth.login` with a Bearer token mints a new token (the SDK's CLEARML_AUTH_TOKEN path, clients.md §1-2)."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from taskstream.api.context import AppContext
from tests.conftest import Tenant


async def test_bearer_login_mints_a_new_token_honouring_expiration(
        http: httpx.AsyncClient, tenant: Tenant, ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # The first token is issued 5 s in the past, so the minted one (now) has a later `iat` and differs from it.
    monkeypatch.setattr(ctx.auth, "clock", lambda: time.time() - 5)
    first = (await tenant.call("auth.login"))["token"]
    monkeypatch.undo()
    http.cookies.clear()
    response = await http.get("/auth.login", params={"expiration_sec": 600},
                              headers={"Authorization": f"Bearer {first}"})
    http.cookies.clear()
    assert response.json()["meta"]["result_code"] == 200
    minted = response.json()["data"]["token"]
    assert minted != first
    claims = jwt.decode(minted, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600
    assert claims["identity"]["company"] == tenant.company and claims["identity"]["user"] == tenant.user
    task = await http.post("/tasks.create", json={"name": "with minted", "type": "training"},
                           headers={"Authorization": f"Bearer {minted}"})
    assert task.json()["meta"]["result_code"] == 200
