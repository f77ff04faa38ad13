"""How the tasks service uses the models service (issue 10 §2): `tasks.publish` (and `completed` with `publish`)
readies the task's last output model in the same transaction; task create, validate, edit, clone and
`validate_tasks` check the input models (400/201)."""

from __future__ import annotations

import pytest

from taskstream.api.context import AppContext
from taskstream.commands.handlers.models import check_input_models
from taskstream.schemas.errors import ApiError
from tests.api.test_events import add_batch
from tests.api.test_events_reads import image
from tests.conftest import Tenant


async def _draft_model(tenant: Tenant, task: str | None = None, **fields: object) -> str:
    body = {"task": task} if task else {}
    return str((await tenant.call("models.create", name="weights", uri="s3://b/w", ready=False, **body,
                                  **fields))["id"])


async def _ready(tenant: Tenant, model_id: str) -> bool:
    return bool((await tenant.call("models.get_by_id", model=model_id))["model"]["ready"])


async def _task_with_output(tenant: Tenant, *models: str) -> str:
    """A stopped task whose output models are `models`, in order (the last one is the one published)."""
    task = await tenant.create_task("trainer")
    for i, model_id in enumerate(models):
        await tenant.call("tasks.add_or_update_model", task=task, name=f"out{i}", model=model_id, type="output")
    await tenant.call("tasks.started", task=task)
    await tenant.call("tasks.stopped", task=task)
    return task


async def test_publishing_a_task_readies_its_last_output_model(tenant: Tenant) -> None:
    first, last = await _draft_model(tenant), await _draft_model(tenant)
    task = await _task_with_output(tenant, first, last)
    await tenant.call("tasks.publish", task=task)
    assert (await _ready(tenant, first), await _ready(tenant, last)) == (False, True)
    history = (await tenant.call("models.get_history", model=last))["history"]
    assert [(h["event"], h["endpoint"]) for h in history][-1] == ("ModelPublished", "tasks.publish")


async def test_publish_model_false_leaves_the_output_model_a_draft(tenant: Tenant) -> None:
    model_id = await _draft_model(tenant)
    task = await _task_with_output(tenant, model_id)
    await tenant.call("tasks.publish", task=task, publish_model=False)
    assert await _ready(tenant, model_id) is False


async def test_completed_with_publish_and_publish_many_ready_the_output_model(tenant: Tenant) -> None:
    completed_model, many_model = await _draft_model(tenant), await _draft_model(tenant)
    completed_task = await _task_with_output(tenant, completed_model)
    await tenant.call("tasks.completed", task=completed_task, force=True, publish=True)
    many_task = await _task_with_output(tenant, many_model)
    assert (await tenant.call("tasks.publish_many", ids=[many_task]))["succeeded"][0]["updated"] == 1
    assert (await _ready(tenant, completed_model), await _ready(tenant, many_model)) == (True, True)


async def test_a_rejected_publish_readies_nothing_and_foreign_or_missing_models_are_skipped(
        tenant: Tenant, other_tenant: Tenant) -> None:
    model_id = await _draft_model(tenant)
    task = await tenant.create_task("draft")
    await tenant.call("tasks.add_or_update_model", task=task, name="o", model=model_id, type="output")
    assert (await tenant.fails("tasks.publish", task=task)).subcode == 110  # created → published needs force
    assert await _ready(tenant, model_id) is False
    theirs = await _draft_model(other_tenant)
    for outputs in (["no-such-model"], [model_id, theirs]):
        task = await _task_with_output(tenant, *outputs)
        assert (await tenant.call("tasks.publish", task=task))["updated"] == 1
    assert (await _ready(tenant, model_id), await _ready(other_tenant, theirs)) == (False, False)


async def test_the_input_model_check_accepts_own_and_public_models_only(ctx: AppContext, tenant: Tenant,
                                                                        other_tenant: Tenant) -> None:
    own, public = await _draft_model(tenant), await _draft_model(other_tenant, public=True)
    foreign = await _draft_model(other_tenant)
    await check_input_models(ctx.commands, ctx.pool, tenant.company, [own, public, own])
    with pytest.raises(ApiError) as rejected:
        await check_input_models(ctx.commands, ctx.pool, tenant.company, [own, foreign, "nope"])
    assert (rejected.value.code, rejected.value.subcode) == (400, 201)
    # Only the missing ones are named, as the reference's `validate_input_models` (`model_ids - found`).
    assert rejected.value.msg == f"Invalid model id: models=({foreign}, nope)"


async def test_unknown_or_foreign_input_models_are_400_201_on_create_validate_edit(
        ctx: AppContext, tenant: Tenant, other_tenant: Tenant) -> None:
    own, public = await _draft_model(tenant), await _draft_model(other_tenant, public=True)
    foreign = await _draft_model(other_tenant)
    task = await tenant.create_task("edited", models={"input": [{"name": "a", "model": own},
                                                                {"name": "b", "model": public}]})
    events = int(await ctx.pool.fetchval("SELECT count(*) FROM events"))
    bad = {"input": [{"name": "a", "model": own}, {"name": "b", "model": foreign}, {"name": "c", "model": "nope"}],
           "output": [{"name": "o", "model": "output ids are not checked"}]}
    for endpoint, body in (("tasks.create", {"name": "new", "type": "training"}),
                           ("tasks.validate", {"name": "new", "type": "training"}), ("tasks.edit", {"task": task})):
        failure = await tenant.fails(endpoint, models=bad, **body)
        assert (failure.status, failure.code, failure.subcode, failure.msg) == (
            400, 400, 201, f"Invalid model id: models=({foreign}, nope)"), endpoint
    old = await tenant.raw("/v2.12/tasks.create", {"name": "old client", "type": "training",
                                                     "execution": {"model": "nope"}})
    assert (old.status_code, old.json()["meta"]["result_msg"]) == (400, "Invalid model id: models=(nope)")
    assert int(await ctx.pool.fetchval("SELECT count(*) FROM events")) == events
    assert await tenant.call("tasks.validate", name="new", type="training",
                             models={"input": [{"name": "p", "model": public}], "output": bad["output"]}) == {}


async def test_clone_checks_input_models_only_when_given_or_asked(tenant: Tenant, other_tenant: Tenant) -> None:
    foreign = await _draft_model(other_tenant)
    gone = await _draft_model(tenant)
    source = await tenant.create_task("source", models={"input": [{"name": "in", "model": gone}]})
    await tenant.call("models.delete", model=gone, force=True)  # the source now names a model that is gone
    assert (await tenant.call("tasks.clone", task=source))["id"]
    failure = await tenant.fails("tasks.clone", task=source, validate_references=True)
    assert (failure.subcode, failure.msg) == (201, f"Invalid model id: models=({gone})")
    for body in ({"new_task_input_models": [{"name": "in", "model": foreign}]},
                 {"execution_overrides": {"model": foreign}}):
        failure = await tenant.fails("tasks.clone", task=source, **body)
        assert (failure.subcode, failure.msg) == (201, f"Invalid model id: models=({foreign})"), body


async def test_enqueue_many_validate_tasks_checks_input_models(tenant: Tenant) -> None:
    gone, kept = await _draft_model(tenant), await _draft_model(tenant)
    stale = await tenant.create_task("stale input", models={"input": [{"name": "in", "model": gone}]})
    fine = await tenant.create_task("fine input", models={"input": [{"name": "in", "model": kept}]})
    await tenant.call("models.delete", model=gone, force=True)
    result = await tenant.call("tasks.enqueue_many", ids=[stale, fine], validate_tasks=True)
    assert [s["id"] for s in result["succeeded"]] == [fine]
    assert [(f["id"], f["error"]["codes"], f["error"]["msg"]) for f in result["failed"]] == [
        (stale, [400, 201], f"Invalid model id: models=({gone})")]
    unchecked = await tenant.call("tasks.enqueue_many", ids=[stale])
    assert [s["id"] for s in unchecked["succeeded"]] == [stale]


async def _trained(tenant: Tenant, name: str) -> tuple[str, str, str]:
    """A started task with an output artifact, a draft output model (listed in `models.output` and linked by its
    `task`) and two reports of one debug image: (task, model, image url)."""
    task = await tenant.create_task(name, execution={"artifacts": [{"key": "out", "type": "t", "uri": "s3://b/o"}]})
    await tenant.call("tasks.started", task=task)
    model = await tenant.create_model(f"{name} weights", task=task, uri=f"s3://b/{name}.pt", ready=False)
    await tenant.call("tasks.add_or_update_model", task=task, name="out", model=model, type="output")
    url = image(task, "samples", "first", 1)["url"]
    await add_batch(tenant, image(task, "samples", "first", 1), image(task, "samples", "first", 2) | {"url": url})
    return task, model, url


async def _gone(tenant: Tenant, model: str) -> bool:
    return (await tenant.call("models.get_all", id=[model]))["models"] == []


async def test_return_file_urls_lists_artifacts_deleted_draft_models_and_debug_images(tenant: Tenant) -> None:
    task, model, url = await _trained(tenant, "reset one")
    reset = await tenant.call("tasks.reset", task=task, return_file_urls=True)
    assert reset["urls"] == {"artifact_urls": ["s3://b/o"], "model_urls": ["s3://b/reset one.pt"],
                             "event_urls": [url]}
    assert reset["deleted_models"] == 1 and await _gone(tenant, model)
    assert (await tenant.call("tasks.reset", task=task, return_file_urls=True))["urls"] == {
        "artifact_urls": [], "model_urls": [], "event_urls": []}
    task, model, url = await _trained(tenant, "delete one")
    deleted = await tenant.call("tasks.delete", task=task, force=True, return_file_urls=True)
    assert deleted["urls"] == {"artifact_urls": ["s3://b/o"], "model_urls": ["s3://b/delete one.pt"],
                               "event_urls": [url]}
    assert (deleted["deleted_models"], deleted["updated_models"]) == (1, 0) and await _gone(tenant, model)
    for endpoint, extra in (("tasks.reset_many", {}), ("tasks.delete_many", {"force": True})):
        task, model, url = await _trained(tenant, endpoint)
        item = (await tenant.call(endpoint, ids=[task], return_file_urls=True, **extra))["succeeded"][0]
        assert item["urls"] == {"artifact_urls": ["s3://b/o"], "model_urls": [f"s3://b/{endpoint}.pt"],
                                "event_urls": [url]}, endpoint
        assert item["deleted_models"] == 1 and await _gone(tenant, model)


async def test_published_output_models_block_reset_and_delete_without_force_and_lose_their_link(
        ctx: AppContext, tenant: Tenant) -> None:
    task, model, _ = await _trained(tenant, "published")
    await tenant.call("models.set_ready", model=model, publish_task=False)
    refused = f"Task cannot be deleted (has output models, use force=True): task={task}, models=1"
    events = int(await ctx.pool.fetchval("SELECT count(*) FROM events"))
    assert ((failure := await tenant.fails("tasks.reset", task=task)).subcode, failure.msg) == (123, refused)
    assert int(await ctx.pool.fetchval("SELECT count(*) FROM events")) == events
    reset = await tenant.call("tasks.reset", task=task, force=True)
    assert reset["deleted_models"] == 0
    assert "task" not in (await tenant.call("models.get_by_id", model=model))["model"]
    await tenant.call("models.edit", model=model, task=task)
    assert ((failure := await tenant.fails("tasks.delete", task=task)).subcode, failure.msg) == (123, refused)
    deleted = await tenant.call("tasks.delete", task=task, force=True)
    assert (deleted["deleted_models"], deleted["updated_models"]) == (0, 1)
    assert (await tenant.call("models.get_by_id", model=model))["model"]["task"] == f"__DELETED__{task}"
    history = (await tenant.call("models.get_history", model=model))["history"]
    assert [(h["event"], h["endpoint"]) for h in history][-1] == ("ModelTaskUnlinked", "tasks.delete")


async def test_draft_output_models_used_as_input_or_kept_by_request_are_only_unlinked(tenant: Tenant) -> None:
    task, used, _ = await _trained(tenant, "used draft")
    await tenant.create_task("consumer", models={"input": [{"name": "in", "model": used}]})
    assert (await tenant.call("tasks.reset", task=task))["deleted_models"] == 0
    assert "task" not in (await tenant.call("models.get_by_id", model=used))["model"]
    task, kept, _ = await _trained(tenant, "kept draft")
    deleted = await tenant.call("tasks.delete", task=task, force=True, delete_output_models=False)
    assert (deleted["deleted_models"], deleted["updated_models"]) == (0, 1)
    assert (await tenant.call("models.get_by_id", model=kept))["model"]["task"] == f"__DELETED__{task}"
