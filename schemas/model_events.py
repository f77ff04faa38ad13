"""Events of model streams (one stream per model, stream id = model id).

A model's document is the fold of `ModelCreated` and the `ModelChanged` events (the top-level fields a call set
and unset, in document form, as a task's `TaskChanged`), until `ModelDeleted`. Metadata events record the whole
resulting `metadata` map: its keys are client-given names that may contain dots.
"""

from __future__ import annotations

from typing import Any

from taskstream.schemas.event_base import Event


class ModelCreated(Event):
    """A model came to be: `model` is its whole first document."""

    model: dict[str, Any]


class ModelChanged(Event):
    """Base of the model changes: the top-level fields written (`set`) and removed (`unset`)."""

    set: dict[str, Any] = {}
    unset: list[str] = []


class ModelEdited(ModelChanged):
    """`models.edit`."""


class ModelUpdated(ModelChanged):
    """`models.update` (the user-settable fields only)."""


class ModelPublished(ModelChanged):
    """`models.set_ready`/`publish_many`, or `tasks.publish` of the task whose output model it is: `ready` true."""

    task: str | None = None


class ModelMetadataChanged(ModelChanged):
    """`models.add_or_update_metadata` / `delete_metadata`: `set.metadata` is the whole resulting map."""


class ModelArchived(ModelChanged):
    pass


class ModelUnarchived(ModelChanged):
    pass


class ModelTaskUnlinked(ModelChanged):
    """`tasks.reset`/`tasks.delete` of the model's task: `task` unset, or set to `__DELETED__<task id>` when the task
    of a kept (published) model is deleted."""


class ModelDeleted(Event):
    force: bool = False


# Registered by `schemas.events` (this module cannot import it: it imports this one).
MODEL_EVENTS: tuple[type[Event], ...] = (ModelCreated, ModelEdited, ModelUpdated, ModelPublished,
                                         ModelMetadataChanged, ModelArchived, ModelUnarchived, ModelDeleted,
                                         ModelTaskUnlinked)
