"""`/docs`: Swagger UI over `/openapi.json`, its assets served from the pinned `swagger-ui-bundle` package (no
CDN: the page works on a network without internet, and loads no code from a third party)."""

from __future__ import annotations

from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

ASSETS_PATH = "/docs/assets"
# The only files served: what the page loads (never the package's demo `index.html` and initializer).
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css", "favicon-32x32.png": "image/png"}


def docs_page() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="taskstream API",
                               swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                               swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
                               swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png")


def docs_asset(name: str) -> Response:
    """One of `ASSETS` (cached for a day: the package is pinned), else 404."""
    if name not in ASSETS:
        return Response("Not found", status_code=404, media_type="text/plain")
    return FileResponse(swagger_ui_path / name, media_type=ASSETS[name],
                        headers={"Cache-Control": "public, max-age=86400"})
