"""`/docs` is served whole by taskstream (no CDN: it works offline), and `/metrics` can require a token
(issue 9, finding 10)."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import httpx

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
