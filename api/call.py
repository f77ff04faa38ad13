"""A call in flight: who, what, at which version, with which data; and the registry of endpoint handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from taskstream.commands.handlers.context import Caller
from taskstream.commands.session import Actor
from taskstream.schemas.contract import Version

if TYPE_CHECKING:
    from taskstream.api.auth import Grant
    from taskstream.api.context import AppContext


@dataclass
class Call:
    endpoint: str
    requested: Version
    actor: Actor
    data: dict[str, Any]
    ctx: AppContext
    batched: list[dict[str, Any]] | None = None
    idempotency_key: str | None = None
    request_id: str = ""
    cookies: dict[str, str] = field(default_factory=dict)
    grant: Grant | None = None  # how the caller authenticated (None on public endpoints)

    def metadata(self, **extra: Any) -> dict[str, Any]:
        """Event metadata: who made the change, through which call, at which API version."""
        return {"company": self.actor.company, "user": self.actor.user, "endpoint": self.endpoint,
                "api_version": f"{self.requested[0]}.{self.requested[1]}", "request_id": self.request_id, **extra}

    def caller(self) -> Caller:
        """Who runs the call's command: the actor, the event metadata and the idempotency key."""
        return Caller(self.actor, self.metadata(), self.idempotency_key)


Handler = Callable[[Call], Awaitable[dict[str, Any]]]
HANDLERS: dict[str, Handler] = {}
# Endpoints answered without credentials.
PUBLIC: set[str] = set()


def endpoint(name: str, *, public: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        if public:
            PUBLIC.add(name)
        return handler

    return register
