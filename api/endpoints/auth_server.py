"""`auth.login` (a JWT for the caller, also as the `clearml_token_basic` cookie) and `server.info`."""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.schemas.enums import SERVER_VERSION, TOKEN_API_VERSION


@endpoint("auth.login")
async def login(call: Call) -> dict[str, Any]:
    expiration = call.data.get("expiration_sec")
    assert call.grant is not None  # auth.login is not public
    token = await call.ctx.auth.issue_token(call.grant, expiration if isinstance(expiration, int) else None)
    return {"token": token, "__cookies__": {"clearml_token_basic": token}}


@endpoint("server.info", public=True)
async def info(call: Call) -> dict[str, Any]:
    return {"version": SERVER_VERSION, "build": "taskstream", "commit": "", "api_version": TOKEN_API_VERSION}
