"""Everything a request needs, created once at start-up: the pool, the contract, auth, and the command context
(the inline projectors and read-model lookups the command handlers are given)."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from taskstream.api.auth import Authenticator
from taskstream.api.http_metrics import observe_command
from taskstream.commands.handlers.context import CommandContext
from taskstream.commands.session import StateStore
from taskstream.projections.inline import command_context, inline_stores
from taskstream.schemas.contract import Contract


@dataclass
class AppContext:
    pool: asyncpg.Pool
    contract: Contract
    auth: Authenticator
    stores: dict[str, StateStore] = field(default_factory=inline_stores)
    commands: CommandContext = field(init=False)

    def __post_init__(self) -> None:
        self.commands = command_context(self.pool, self.stores, observe=observe_command)
