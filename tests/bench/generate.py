"""Bench data: N realistic tasks in one company, written THROUGH THE EVENT LOG by the bulk path.

Every task is a stream: a `TaskCreated` event built by the real `decide_create`, plus (for tasks past `created`)
one status event. Events are COPYed into `events` with stream versions 1..n; the read-model rows are the fold of
exactly those events (`projections.task_read_model.row_values` of the folded document) and are COPYed into
`tasks` in the same transaction, so the log stays the source of truth (a replay rebuilds the same rows). The
fold is a fast path for these two event shapes, checked against the real `commands.evolve` on a sample.

Chunks are produced and copied by `workers` processes in parallel, each with its own connection.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from taskstream.api.database import migrate
from taskstream.commands.decide_task import decide_create
from taskstream.commands.evolve import evolve
from taskstream.commands.messages import CreateTask
from taskstream.commands.session import CommandSession
from taskstream.projections.project_read_model import ProjectReadModel
from taskstream.projections.task_read_model import _COLUMNS as TASK_COLUMNS
from taskstream.projections.task_read_model import row_values
from taskstream.schemas.clock import iso
from taskstream.schemas.events import (
    Event,
    ProjectCreated,
    TaskChanged,
    TaskCompleted,
    TaskCreated,
    TaskEnqueued,
    TaskFailed,
    TaskPublished,
    TaskStarted,
    TaskStopped,
)

COMPANY = "bench00000000000000000000000000c"
USERS = [f"bench0000000000000000000000000u{i}" for i in range(5)]
PROJECTS = 200
CHUNK = 5000
CHECKED = 50  # tasks per chunk folded by the real `evolve` as well, as a check of the fast fold
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
STATUSES = [("created", 30), ("in_progress", 10), ("stopped", 20), ("completed", 25), ("failed", 7),
            ("published", 5), ("queued", 3)]
STATUS_EVENTS: dict[str, type[Event]] = {"in_progress": TaskStarted, "stopped": TaskStopped,
                                         "completed": TaskCompleted, "failed": TaskFailed,
                                         "published": TaskPublished, "queued": TaskEnqueued}
TYPES = [("training", 60), ("testing", 20), ("data_processing", 10), ("inference", 5), ("controller", 3),
         ("optimizer", 2)]
TAGS = [f"tag{i}" for i in range(20)]
MODELS = ["resnet50", "bert-base", "yolov8", "gpt2-small", "unet", "vit-b16", "xgboost", "lstm"]
DATASETS = ["imagenet", "coco", "squad", "cifar10", "wikitext", "mnist", "criteo"]
# Project sizes vary: the largest holds ~4x the average, the smallest ~0.4x.
PROJECT_WEIGHTS = list(itertools.accumulate(1 / (1 + i / 25) for i in range(PROJECTS)))
EVENT_COLUMNS = ("stream_id", "version", "event_id", "type", "schema_version", "data", "metadata")


def project_ids() -> list[str]:
    return [uuid.uuid5(uuid.NAMESPACE_OID, f"bench-project-{i}").hex for i in range(PROJECTS)]


def _weighted(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _param(section: str, name: str, value: Any) -> dict[str, Any]:
    return {"section": section, "name": name, "value": str(value), "type": type(value).__name__}


def task_fields(rng: random.Random, index: int, projects: list[str]) -> dict[str, Any]:
    """The create request of one task: project, type, tags, script, numeric hyper-parameters."""
    model, dataset = rng.choice(MODELS), rng.choice(DATASETS)
    system_tags = ["archived"] if rng.random() < 0.1 else []
    if rng.random() < 0.01:
        system_tags.append("hidden")
    return {
        "name": f"{model} on {dataset} #{index}", "type": _weighted(rng, TYPES),
        "project": rng.choices(projects, cum_weights=PROJECT_WEIGHTS)[0],
        "tags": sorted(set(rng.sample(TAGS, rng.randint(0, 3)))), "system_tags": system_tags,
        "comment": f"Auto-generated run of {model} on {dataset}",
        "script": {"repository": f"https://git.example.com/ml/{model}.git", "entry_point": "train.py",
                   "branch": "main"},
        "hyperparams": {
            "Args": {"lr": _param("Args", "lr", round(10 ** rng.uniform(-5, -1), 6)),
                     "batch_size": _param("Args", "batch_size", rng.choice([16, 32, 64, 128, 256])),
                     "epochs": _param("Args", "epochs", rng.randint(1, 300)),
                     "optimizer": _param("Args", "optimizer", rng.choice(["adam", "sgd", "adamw"]))},
            "General": {"seed": _param("General", "seed", rng.randint(0, 10**6))},
        },
    }


def task_events(rng: random.Random, index: int, projects: list[str]) -> tuple[str, list[Event]]:
    """One task's stream: TaskCreated (the real decision) and, past `created`, its status event."""
    created = EPOCH + timedelta(seconds=rng.uniform(0, 2 * 365 * 86400))
    task_id = uuid.UUID(int=rng.getrandbits(128)).hex
    events = decide_create(CreateTask(task_fields(rng, index, projects)), task_id, COMPANY, rng.choice(USERS),
                           created)
    status = _weighted(rng, STATUSES)
    if status != "created":
        changed = iso(created + timedelta(seconds=rng.uniform(60, 30 * 86400)))
        extra: dict[str, Any] = {"queue": "bench-queue"} if status == "queued" else {}
        changes: dict[str, Any] = {"status": status, "status_changed": changed, "last_update": changed,
                                   "last_change": changed, "status_reason": "", "status_message": ""}
        if status != "queued":
            changes["started"] = iso(created + timedelta(seconds=30))
            changes["last_iteration"] = rng.randint(0, 10000)
        events.append(STATUS_EVENTS[status](set=changes, status=status, previous_status="created", force=True,
                                            **extra))
    return task_id, events


def fold(events: list[Event], check: bool) -> dict[str, Any]:
    """The state after `events`: the created document with the status event's top-level fields applied.
    With `check`, also folded by the real `commands.evolve` and compared (the fast path must not drift)."""
    created = events[0]
    assert isinstance(created, TaskCreated)
    doc = dict(created.task)
    for event in events[1:]:
        assert isinstance(event, TaskChanged) and not event.unset and all("." not in k for k in event.set)
        doc.update(event.set)
    if check:
        folded = None
        for event in events:
            folded = evolve(folded, event)
        assert folded == doc, "fast fold differs from commands.evolve"
    return doc


def chunk_records(seed: int, start: int, count: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(event rows, task read-model rows) of tasks start..start+count, deterministic per seed."""
    rng = random.Random(seed * 1_000_003 + start)
    projects = project_ids()
    metadata = json.dumps({"company": COMPANY, "user": USERS[0], "endpoint": "bench.generate"})
    event_rows, task_rows = [], []
    for index in range(start, start + count):
        task_id, events = task_events(rng, index, projects)
        for version, event in enumerate(events, start=1):
            event_rows.append((task_id, version, uuid.uuid4(), event.type_name(), event.schema_version,
                               event.model_dump_json(), metadata))
        doc = fold(events, check=index - start < CHECKED)
        task_rows.append(row_values(task_id, len(events), doc))
    return event_rows, task_rows


async def _copy_chunk(url: str, seed: int, start: int, count: int) -> None:
    event_rows, task_rows = chunk_records(seed, start, count)
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.copy_records_to_table("events", records=event_rows, columns=EVENT_COLUMNS)
            await conn.copy_records_to_table("tasks", records=task_rows, columns=TASK_COLUMNS)
    finally:
        await conn.close()


def _copy_chunk_sync(url: str, seed: int, start: int, count: int) -> int:
    asyncio.run(_copy_chunk(url, seed, start, count))
    return count


async def _ensure_company_and_projects(conn: asyncpg.Connection) -> None:
    """The bench company, its users and ~200 projects (a tenth nested), projects through their own events."""
    await conn.execute("INSERT INTO companies (id, name) VALUES ($1, 'bench') ON CONFLICT DO NOTHING", COMPANY)
    for user in USERS:
        await conn.execute("INSERT INTO users (id, company, name) VALUES ($1, $2, $1) ON CONFLICT DO NOTHING",
                           user, COMPANY)
    ids = project_ids()
    async with conn.transaction():
        session = CommandSession(conn, {"project": ProjectReadModel()}, {"company": COMPANY, "user": USERS[0]})
        for index, project_id in enumerate(ids):
            stream = await session.load("project", project_id)
            if stream.doc is not None:
                continue
            parent = ids[index // 10 - 1] if index % 10 == 9 and index >= 10 else None
            name = f"bench project {index}" if parent is None else f"bench project {index // 10 - 1}/sub {index}"
            stamp = iso(EPOCH)
            doc = {"id": project_id, "name": name, "basename": name.rsplit("/", 1)[-1], "company": COMPANY,
                   "user": USERS[0], "created": stamp, "last_update": stamp, "tags": [], "system_tags": [],
                   "description": "", "parent": parent}
            await session.save("project", stream, [ProjectCreated(project=doc)])


async def _drop_secondary_indexes(conn: asyncpg.Connection) -> list[str]:
    """Drop the task read model's indexes that back no constraint; returns their definitions."""
    rows = await conn.fetch(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = current_schema() AND i.tablename = 'tasks'
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = to_regclass(i.indexname))""")
    for row in rows:
        await conn.execute(f'DROP INDEX "{row["indexname"]}"')
    return [row["indexdef"] for row in rows]


async def generate(url: str, rows: int, workers: int = 2, seed: int = 7) -> float:
    """Load the bench company up to `rows` tasks (idempotent: an already loaded company is kept); returns the
    seconds spent loading (0 when nothing was loaded)."""
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        await _ensure_company_and_projects(conn)
        existing = int(await conn.fetchval("SELECT count(*) FROM tasks WHERE company = $1", COMPANY))
        if existing >= rows:
            return 0.0
        began = time.perf_counter()
        # Why: building an index once after the load is several times cheaper than maintaining it per row.
        # Only for a company loaded from empty; the definitions are read back from the catalog, so whatever
        # the migrations define is what gets rebuilt (also when the load fails).
        deferred = await _drop_secondary_indexes(conn) if existing == 0 else []
        try:
            loop = asyncio.get_running_loop()
            with ProcessPoolExecutor(max_workers=workers) as pool:
                jobs = [loop.run_in_executor(pool, _copy_chunk_sync, url, seed, start, min(CHUNK, rows - start))
                        for start in range(existing, rows, CHUNK)]
                await asyncio.gather(*jobs)
        finally:
            await conn.execute("SET maintenance_work_mem = '256MB'")
            for definition in deferred:
                await conn.execute(definition)
        await conn.execute("ANALYZE tasks")
        await conn.execute("ANALYZE events")
        return time.perf_counter() - began
    finally:
        await conn.close()
