"""Model streams (issue 10 §2): the model read model is a function of the log (replay equals live, G6), and model
events travel to their own Kafka topic family."""

from __future__ import annotations

import dataclasses

from taskstream.api.context import AppContext
from taskstream.projections.kafka_codec import all_topics, encode, family_of, types_of
from taskstream.projections.replay import replay
from taskstream.projections.replay_models import READ_MODELS
from taskstream.schemas.model_events import MODEL_EVENTS
from tests.conftest import Tenant
from tests.projections.test_kafka_codec import recorded
from tests.projections.test_replay import snapshot


async def _models_table(ctx: AppContext) -> dict[str, list[str]]:
    async with ctx.pool.acquire() as conn:
        return await snapshot(conn, ("models",))


async def test_replay_of_the_model_read_model_equals_the_live_one(ctx: AppContext, tenant: Tenant,
                                                                  other_tenant: Tenant, database_url: str) -> None:
    task = await tenant.create_task("trainer")
    ids = []
    for i in range(6):
        answer = await tenant.call("models.create", name=f"model-{i}", uri=f"s3://b/{i}", task=task,
                                   ready=i % 2 == 0, tags=[f"t{i % 3}"], public=i == 5)
        ids.append(answer["id"])
    await other_tenant.call("models.create", name="theirs", uri="s3://b/x")
    await tenant.call("models.edit", model=ids[1], comment="edited", labels={"a": 1}, design={"d": "x"})
    await tenant.call("models.update", model=ids[1], name="renamed")
    await tenant.call("models.set_ready", model=ids[1], publish_task=False)
    await tenant.call("models.add_or_update_metadata", model=ids[2], metadata=[{"key": "a.b", "value": "1"}])
    await tenant.call("models.delete_metadata", model=ids[2], keys=["a.b"])
    await tenant.call("models.archive_many", ids=[ids[3], ids[4]])
    await tenant.call("models.unarchive_many", ids=[ids[4]])
    await tenant.call("models.delete", model=ids[0])
    before = await _models_table(ctx)
    assert len(before["models"]) >= 6

    [result] = await replay(database_url, ["models"], progress=False)

    assert result.swapped
    assert await _models_table(ctx) == before
    assert (await tenant.call("models.get_by_id", model=ids[1]))["model"]["name"] == "renamed"
    await tenant.call("models.edit", model=ids[1], comment="after replay")


def test_replay_knows_the_models_projection() -> None:
    assert READ_MODELS["models"].tables == ("models",)
    assert set(types_of(("models",))) == {cls.type_name() for cls in MODEL_EVENTS}


def test_model_events_are_published_to_the_models_topic_keyed_by_model_id() -> None:
    assert "taskstream.models" in all_topics()
    for cls in MODEL_EVENTS:
        assert family_of(cls.type_name()) == "models"
        event = dataclasses.replace(recorded({"set": {}}), type=cls.type_name(), stream_id="m1")
        topic, key, _, headers = encode(event)
        assert (topic, key) == ("taskstream.models", b"m1")
        assert ("type", cls.type_name().encode()) in headers
