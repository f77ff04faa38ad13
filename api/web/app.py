"""Mounting the web UI on the API's app (same port as `taskstream serve`), sign in and out, and the SDK's links.

`install(app)` is called by `api.app.create_app` before the API's catch-all route. The UI's paths never shadow the
API's: ClearML calls are `/{service}.{action}` and `/v{X.Y}/...` (always with a dot), and `/files`, `/health`,
`/docs`, `/openapi.json` and `/metrics` are routed before this. UI paths: `/`, `/login`, `/logout`, `/projects`,
`/tasks`, `/tasks/{task_id}[/{tab}]` (task page), `/compare`, `/queues`, `/ui/...` (actions, live feed, static
files), and the links the SDK and agent print (`/projects/<project>/experiments/<task>[/...]`, `.../tasks/...`).

Contract with the task and compare pages: `api/web/task_page.py` and `api/web/compare.py` each expose
`router = APIRouter()`; they are included here, after this module's routes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import FormData

from taskstream.api.app import TOKEN_COOKIE, _over_https
from taskstream.api.web.session import (
    Forbidden,
    FormTooLarge,
    NotFound,
    SignInRequired,
    form_caller,
    optional_caller,
    read_form,
    render,
    safe_next,
    sign_in_url,
)
from taskstream.schemas.errors import ApiError

STATIC = Path(__file__).parent / "static"
STATIC_PATH = "/ui/static"
MAX_CREDENTIAL = 256
MAX_TOKEN = 4096
router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request) -> Response:
    session = await optional_caller(request)
    return RedirectResponse("/projects" if session else "/login", status_code=303)


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=safe_next(next), error=None)


def _field(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) and len(value) <= limit else ""


@router.post("/login")
async def login(request: Request) -> Response:
    """Sign in with an access key and secret (or an existing token): the session cookie carries a token issued by
    the API's Authenticator, so it obeys every rule a token obeys (expiry, revocation, secret rotation)."""
    _same_origin(request)
    form = await read_form(request)
    auth = request.app.state.ctx.auth
    target = safe_next(_field(form, "next", 2000))
    access_key, secret = _field(form, "access_key", MAX_CREDENTIAL), _field(form, "secret_key", MAX_CREDENTIAL)
    token = _field(form, "token", MAX_TOKEN)
    try:
        if token:
            grant = await auth.verify_token(token)
        elif access_key and secret:
            grant = await auth.verify_key_pair(access_key, secret, request.client.host if request.client else None)
        else:
            raise ApiError(401, 20)
    except ApiError:
        return render(request, "login.html", status=401, next=target,
                      error="Sign-in failed: wrong access key or secret, or an expired token.")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(TOKEN_COOKIE, await auth.issue_token(grant), httponly=True, samesite="strict",
                        secure=_over_https(request), path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await form_caller(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict", secure=_over_https(request))
    return response


# The links the SDK and the agent print: `<web_server>/projects/<project id>/experiments/<task id>/output/log`
# (Task.get_output_log_web_page), `.../experiments/<task id>` (get_task_web_page), with `*` for the project when it
# is unknown, the newer `/projects/<project>/tasks/<task>/...` form (servers ≥ 2.31), and the pipeline and dataset
# pages (`/pipelines/<project>/experiments/<task>`, `/datasets/simple/<project>/experiments/<task>`). They open
# the task page's tab.
SDK_TABS = {"output": "log", "execution": "execution", "hyper-params": "hyperparameters", "artifacts": "artifacts",
            "info-output": "summary", "general": "summary", "scalars": "scalars", "plots": "plots",
            "debugImages": "debug-images", "debug-images": "debug-images", "log": "log", "models": "models",
            "scalar": "scalars", "plot": "plots", "artifact": "artifacts", "configuration": "configuration"}


def sdk_tab(rest: str) -> str | None:
    """The task page tab for the tail of an SDK link (`output/log` → `log`), None for the summary."""
    parts = [p for p in rest.split("/") if p]
    for part in reversed(parts):
        if part in SDK_TABS:
            return SDK_TABS[part]
    return None


@router.get("/projects/{project}/experiments/{task_id}")
@router.get("/projects/{project}/tasks/{task_id}")
@router.get("/projects/{project}/experiments/{task_id}/{rest:path}")
@router.get("/projects/{project}/tasks/{task_id}/{rest:path}")
@router.get("/pipelines/{project}/experiments/{task_id}")  # a pipeline controller's page
@router.get("/pipelines/{project}/experiments/{task_id}/{rest:path}")
@router.get("/datasets/simple/{project}/experiments/{task_id}")  # a dataset's task
@router.get("/datasets/simple/{project}/experiments/{task_id}/{rest:path}")
async def sdk_link(task_id: str, project: str = "*", rest: str = "") -> Response:
    if not _plain_id(task_id):
        raise NotFound("task")
    tab = sdk_tab(rest)
    if tab == "summary":
        tab = None
    return RedirectResponse(f"/tasks/{task_id}" + (f"/{tab}" if tab else ""), status_code=303)


def _plain_id(value: str) -> bool:
    return 0 < len(value) <= 128 and all(c.isalnum() or c in "-_." for c in value)


def _same_origin(request: Request) -> None:
    """A POST whose Origin names another site is refused (the login form has no session to hold a CSRF token); so
    is `Origin: null`, what a sandboxed frame of any site sends (this site's pages never do: same-origin referrers)."""
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}":
        forwarded = request.headers.get("x-forwarded-proto")
        if not (forwarded and origin.rstrip("/") == f"{forwarded}://{request.url.netloc}"):
            raise Forbidden()


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """What the UI runs beside the app while it serves: the live feed (one log follower per process)."""
    from taskstream.api.web.live import feed_running

    async with feed_running(app):
        yield


def install(app: FastAPI) -> None:
    """Mount the UI on `app`: static files, the pages (this module's, then the task and compare pages'), and the
    answers to SignInRequired (redirect), NotFound (404 page) and Forbidden (403 page)."""
    from taskstream.api.web import actions, compare, live, pages, task_page

    app.mount(STATIC_PATH, StaticFiles(directory=str(STATIC)), name="ui-static")
    ui = APIRouter(include_in_schema=False)
    for part in (router, pages.router, actions.router, live.router, task_page.router, compare.router):
        ui.include_router(part)
    app.include_router(ui)

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.method != "GET":
            return HTMLResponse("Sign in again (your session has ended).", status_code=401)
        return RedirectResponse(sign_in_url(request), status_code=303)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        await optional_caller(request)
        return render(request, "not_found.html", status=404, what=exc.what)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        await optional_caller(request)
        return render(request, "error.html", status=403,
                      message="This form has expired or did not come from this site. Reload the page and try again.")

    @app.exception_handler(FormTooLarge)
    async def too_large(request: Request, exc: FormTooLarge) -> Response:
        await optional_caller(request)
        return render(request, "error.html", status=413, message="This form is too large (select fewer tasks).")
