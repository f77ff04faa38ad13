"""Who is signed in, and what every page needs: the session cookie, CSRF, rendering and the not-found page.

Public helpers the pages use (also the task and compare pages):

* `await web_caller(request) -> WebSession` — the signed-in caller (company-scoped `actor`, `csrf` token,
  `caller(endpoint)` for running a command handler). Raises `SignInRequired`, which the app answers with a redirect
  to `/login?next=<this page>`. Authentication happens before anything else is read.
* `await form_caller(request) -> tuple[WebSession, FormData]` — for POST actions: the caller, then the form (bounded),
  with its CSRF token checked (403 page otherwise).
* `render(request, template, status=200, **context) -> HTMLResponse` — a template of `api/web/templates` extending
  `base.html`; the context always has `request`, `session` (None when signed out) and `csrf`.
* `FormTooLarge` (413) and `Forbidden` (403, a missing or wrong CSRF token) are answered with an error page.
* `raise NotFound()` — answered with the HTML not-found page (404), never a JSON envelope; used alike for an unknown
  id and for another company's.

The session is the API's own cookie (`clearml_token_basic`, a token from the same `Authenticator`), `HttpOnly`,
`SameSite=Strict`, `Secure` over HTTPS: the files endpoint then serves artifact downloads to a signed-in browser,
and a revoked key pair ends its sessions within 30 s as it ends its tokens. CSRF, consistent with the API's cookie
rule (`api.app.check_cookie_request`): the API asks a cookie-only call for `X-Requested-With`, which only a page of
this origin can add; a UI form cannot add a header, so every POST carries a token only a page of this origin can
read: HMAC(token secret, session token), in a hidden `csrf` field (or the `X-CSRF-Token` header of a `fetch`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from uuid import uuid4

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from taskstream.api.app import TOKEN_COOKIE
from taskstream.api.auth import Grant
from taskstream.commands.handlers.context import Caller
from taskstream.commands.session import Actor
from taskstream.schemas.errors import ApiError

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_FIELDS = 2000  # a bulk action's ids (the API's batch limit is 1000) plus the other fields
MAX_FORM_BYTES = 256 * 1024
UI_API_VERSION = "2.22"
FLASH_COOKIE = "taskstream_flash"  # the one-time message of an action, shown by the next page rendered
FLASH_SAFE = " :,.()/'="  # left as they are in the (percent-encoded) flash cookie
# Every page: scripts and styles only from this server (no CDN, no inline script), never framed, no referrer
# leaving the site. Pages put data for their scripts in `data-` attributes or `<script type="application/json">`.
PAGE_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "x-content-type-options": "nosniff", "referrer-policy": "same-origin", "x-frame-options": "DENY",
    "cache-control": "no-store",
}


class SignInRequired(Exception):
    """No valid session: answered with a redirect to the sign-in page."""


class NotFound(Exception):
    """An unknown page or id, or another company's: answered with the not-found page (404)."""

    def __init__(self, what: str = "page") -> None:
        super().__init__(what)
        self.what = what


class Forbidden(Exception):
    """A POST without a valid CSRF token: answered with a 403 page; nothing was done."""


@dataclass(frozen=True)
class WebSession:
    """The signed-in caller: its grant (company-scoped actor), its session token and the CSRF token of its pages."""

    grant: Grant
    token: str
    csrf: str

    @property
    def actor(self) -> Actor:
        return self.grant.actor

    @property
    def company(self) -> str:
        return self.grant.actor.company

    def caller(self, endpoint: str) -> Caller:
        """Who runs a command from the UI: the event metadata names the API call it equals (`tasks.stop`) and says
        it came from the web UI, so the history reads like the API's."""
        metadata = {"company": self.company, "user": self.actor.user, "endpoint": endpoint,
                    "api_version": UI_API_VERSION, "request_id": uuid4().hex, "client": "web"}
        return Caller(self.actor, metadata)


def csrf_token(token_secret: str, session_token: str) -> str:
    """The CSRF token of a session: only a page of this origin (which the server rendered it into) knows it."""
    return hmac.new(token_secret.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


async def web_caller(request: Request) -> WebSession:
    """The signed-in caller from the session cookie, checked by the API's Authenticator (signature, expiry, key pair
    still active); raises SignInRequired otherwise."""
    token = request.cookies.get(TOKEN_COOKIE)
    if not token or len(token) > 4096:
        raise SignInRequired()
    auth = request.app.state.ctx.auth
    try:
        grant = await auth.authenticate(None, token, client=_client(request))
    except ApiError as exc:
        raise SignInRequired() from exc
    session = WebSession(grant, token, csrf_token(auth.token_secret, token))
    request.state.web_session = session  # for `render`
    return session


async def optional_caller(request: Request) -> WebSession | None:
    """The signed-in caller, or None (pages that also show signed out: sign-in, not-found)."""
    try:
        return await web_caller(request)
    except SignInRequired:
        return None


class FormTooLarge(Exception):
    """A form without a declared length, or longer than MAX_FORM_BYTES (answered 413 before it is read)."""


async def read_form(request: Request) -> FormData:
    """The posted form, bounded before it is read: a declared length (browsers always send one for a form) of at
    most MAX_FORM_BYTES, at most MAX_FORM_FIELDS fields, no files."""
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
        raise FormTooLarge()
    return await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)


async def form_caller(request: Request) -> tuple[WebSession, FormData]:
    """The caller of a POST action and its form: authenticated first, then the form is read (bounded) and its
    CSRF token checked in constant time; Forbidden when it is missing or wrong."""
    session = await web_caller(request)
    form = await read_form(request)
    given = str(form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or "")
    if not hmac.compare_digest(given.encode(), session.csrf.encode()):
        raise Forbidden()
    return session, form


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """`template` rendered with `context` plus `request`, `session` and `csrf` (the session `web_caller` found for
    this request, if any)."""
    session: WebSession | None = getattr(request.state, "web_session", None)
    kind, _, flash = unquote(request.cookies.get(FLASH_COOKIE) or "").partition(":")
    full = {"session": session, "csrf": session.csrf if session else "", "flash": flash[:500] or None,
            "flash_kind": "error" if kind == "error" else "info", **context}
    response = TEMPLATES.TemplateResponse(request, template, full, status_code=status)
    response.headers.update(PAGE_HEADERS)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def plain_id(value: str) -> bool:
    """An id the UI looks up: 1 to 128 letters, digits, `-`, `_` or `.` (never a NUL, which PostgreSQL refuses)."""
    return 0 < len(value) <= 128 and value.isascii() and all(c.isalnum() or c in "-_." for c in value)


def sign_in_url(request: Request) -> str:
    """The sign-in page, coming back to this page afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='')}"


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in (never another site: `//host` and `\\` are refused)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or len(target) > 2000:
        return "/"
    return target
