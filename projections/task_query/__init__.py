"""`tasks.get_all` and friends: the compiler (filters, ordering, paths, field spec, joins) and its execution
(timeout, plan policy, errors, scroll state). The API calls `list_tasks`."""

from taskstream.projections.task_query.compiler import QueryOptions, compile_get_all, paging
from taskstream.projections.task_query.listing import list_tasks

__all__ = ["QueryOptions", "compile_get_all", "list_tasks", "paging"]
