"""`/docs` is served whole by taskstream (no CDN: it works offline), and `/metrics` can require a token
(issue 9, finding 10)."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from taskstream.api.app import create_app
from taskstream.api.context import AppContext
from tests.conftest import Tenant

ASSET = re.compile(r"<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)


async def test_docs_reference_only_assets_served_by_taskstream(http: httpx.AsyncClient) -> None:
    page = await http.get("/docs")
    assert page.status_code == 200
    assets = ASSET.findall(page.text)
    assert any(url.endswith(".js") for url in assets) and any(url.endswith(".css") for url in assets)
    for url in assets:
        absolute = urljoin(str(page.url), url)
        assert urlsplit(absolute).hostname == page.url.host, f"/docs loads {url} from another host"
        served = await http.get(absolute)
        assert served.status_code == 200 and served.content, url
    assert "https://" not in page.text and "http://" not in page.text


async def test_docs_assets_are_only_the_swagger_ui_files(http: httpx.AsyncClient) -> None:
    for name in ("index.html", "swagger-initializer.js", "swagger-ui-bundle.js.map", "__init__.py"):
        assert (await http.get(f"/docs/assets/{name}")).status_code == 404
    assert (await http.get("/docs/assets/..%2F__init__.py")).status_code in (400, 404)


async def test_metrics_are_open_when_no_token_is_configured(http: httpx.AsyncClient) -> None:
    response = await http.get("/metrics")
    assert response.status_code == 200 and "taskstream_log_head_position" in response.text


async def test_metrics_need_the_configured_bearer_token(ctx: AppContext, tenant: Tenant,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKSTREAM_METRICS_TOKEN", "scrape-token-0123456789")
    app = create_app(None)
    app.state.ctx = ctx
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://taskstream") as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer scrape-token-012345678"},
                        tenant.auth_header, {"Authorization": "scrape-token-0123456789"}):
            refused = await client.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
            assert "taskstream_" not in refused.text and refused.headers["www-authenticate"] == "Bearer"
        allowed = await client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
        assert allowed.status_code == 200 and "taskstream_log_head_position" in allowed.text
