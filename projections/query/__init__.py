"""The list-query toolkit shared by `tasks.get_all`, `queues.get_all` and `projects.get_all`: the SQL builder with
bound parameters, the regex filter and its check, list-field filters, paging, column ordering and `only_fields`.

Client text reaches SQL only as bound parameters; column names come from the callers' whitelists.
"""
