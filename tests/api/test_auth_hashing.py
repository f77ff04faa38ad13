"""scrypt never stalls the server and tells an attacker nothing (issue 9, finding 3): it runs in a bounded thread
pool, one hash in flight per key, unknown keys cost a hash like known ones, repeated failures per key and per
client address are refused without hashing, and a key in steady use is never hashed again."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from taskstream.api.auth import CACHE_SECONDS, Authenticator, Grant
from taskstream.api.auth_settings import AuthSettings
from taskstream.api.context import AppContext
from taskstream.commands.accounts import add_credentials, create_user, generate_key_pair, verify_secret
from taskstream.schemas.errors import ApiError
from taskstream.schemas.ids import new_id


@dataclass
class CountingHash:
    """verify_secret, counting its calls, how many ran at once, and the loop's ticks at each start and end."""

    ticks: list[int] = field(default_factory=lambda: [0])
    calls: int = 0
    running: int = 0
    most_at_once: int = 0
    spans: list[tuple[int, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, secret: str, stored: str) -> bool:
        with self.lock:
            self.calls += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        start = self.ticks[0]
        try:
            return verify_secret(secret, stored)
        finally:
            with self.lock:
                self.running -= 1
                self.spans.append((start, self.ticks[0]))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Setup:
    auth: Authenticator
    hashes: CountingHash
    clock: Clock
    ctx: AppContext

    async def new_key(self) -> tuple[str, str]:
        async with self.ctx.pool.acquire() as conn:
            user = await create_user(conn, "tests", new_id(), "hashing")
            key, secret = generate_key_pair()
            await add_credentials(conn, user, key, secret)
        return key, secret

    async def basic(self, key: str, secret: str, client: str = "10.0.0.1") -> Grant | int:
        header = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
        try:
            return await self.auth.authenticate(header, None, client=client)
        except ApiError as error:
            return error.subcode


async def make_setup(ctx: AppContext, **settings: int) -> AsyncIterator[Setup]:
    hashes, clock = CountingHash(), Clock()
    auth = Authenticator(ctx.pool, ctx.auth.token_secret, timer=clock, verify=hashes,
                         settings=AuthSettings(**settings))  # type: ignore[arg-type]
    yield Setup(auth, hashes, clock, ctx)
    await auth.close()


@pytest.fixture
async def setup(ctx: AppContext) -> AsyncIterator[Setup]:
    async for one in make_setup(ctx):
        yield one


async def test_a_wrong_secret_costs_one_hash_for_known_and_unknown_keys_alike(setup: Setup) -> None:
    key, _ = await setup.new_key()
    assert await setup.basic(key, "wrong") == 22
    assert setup.hashes.calls == 1
    assert await setup.basic("NO" + new_id()[:28].upper(), "wrong") == 22
    assert setup.hashes.calls == 2


async def test_concurrent_requests_of_one_key_run_one_hash(setup: Setup) -> None:
    key, secret = await setup.new_key()
    grants = await asyncio.gather(*(setup.basic(key, secret) for _ in range(20)))
    assert all(isinstance(grant, Grant) for grant in grants)
    assert setup.hashes.calls == 1
    wrong = await asyncio.gather(*(setup.basic(key, "same wrong secret") for _ in range(5)))
    assert wrong == [22] * 5 and setup.hashes.calls == 2


async def test_different_secrets_of_one_key_are_hashed_one_at_a_time(setup: Setup) -> None:
    key, _ = await setup.new_key()
    answers = await asyncio.gather(*(setup.basic(key, f"guess {i}", client=f"10.0.1.{i}") for i in range(4)))
    assert answers == [22] * 4
    assert setup.hashes.calls == 4 and setup.hashes.most_at_once == 1


async def test_the_event_loop_keeps_running_while_hashes_run(setup: Setup) -> None:
    keys = [(await setup.new_key())[0] for _ in range(6)]
    done = False

    async def tick() -> None:
        while not done:
            setup.hashes.ticks[0] += 1
            await asyncio.sleep(0.001)

    ticker = asyncio.create_task(tick())
    await asyncio.gather(*(setup.basic(key, "wrong", client=f"10.0.2.{i}") for i, key in enumerate(keys)))
    done = True
    await ticker
    assert len(setup.hashes.spans) == 6
    # Each hash overlapped some ticks of an unrelated coroutine: on the event loop there would be none.
    assert all(end > start for start, end in setup.hashes.spans)


async def test_repeated_failures_of_a_key_are_refused_without_hashing(ctx: AppContext) -> None:
    async for setup in make_setup(ctx, key_failures=3, address_failures=100):
        key, secret = await setup.new_key()
        assert isinstance(await setup.basic(key, secret, client="10.0.3.1"), Grant)  # an honest client, verified
        for i in range(3):
            assert await setup.basic(key, f"guess {i}", client=f"10.0.3.{i + 2}") == 22
        assert setup.hashes.calls == 4
        assert await setup.basic(key, "guess 4", client="10.0.3.9") == 22
        assert setup.hashes.calls == 4  # refused at once
        assert isinstance(await setup.basic(key, secret, client="10.0.3.1"), Grant)  # the verified secret works
        setup.clock.now += AuthSettings().failure_window + 1
        assert await setup.basic(key, "guess 5", client="10.0.3.9") == 22
        assert setup.hashes.calls == 5  # the window passed: hashed again


async def test_repeated_failures_from_an_address_are_refused_without_hashing(ctx: AppContext) -> None:
    async for setup in make_setup(ctx, key_failures=100, address_failures=3):
        for i in range(3):
            assert await setup.basic(f"UNKNOWN{i}", "x", client="10.0.4.1") == 22
        assert setup.hashes.calls == 3
        key, secret = await setup.new_key()
        assert await setup.basic(key, secret, client="10.0.4.1") == 22
        assert setup.hashes.calls == 3  # refused at once, even with the right secret, until the window passes
        assert isinstance(await setup.basic(key, secret, client="10.0.4.2"), Grant)
        setup.clock.now += AuthSettings().failure_window + 1
        assert isinstance(await setup.basic(key, secret, client="10.0.4.1"), Grant)


async def test_a_key_in_steady_use_is_never_hashed_again(setup: Setup) -> None:
    key, secret = await setup.new_key()
    for _ in range(12):  # six cache lifetimes, a call every half lifetime: reloaded, never re-hashed
        assert isinstance(await setup.basic(key, secret), Grant)
        setup.clock.now += CACHE_SECONDS / 2
    await setup.auth.settle()
    assert setup.hashes.calls == 1
