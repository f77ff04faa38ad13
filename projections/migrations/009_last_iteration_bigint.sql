-- `last_iteration` holds any 64-bit iteration a client reports (`events.add_batch` accepts 64-bit `iter`, as the
-- reference does; `tasks.add_or_update_model` takes an `iteration`): as an integer column, an iteration beyond
-- 2^31 - 1 failed the whole command with a database error (500). Range filters already compare it as bigint.
ALTER TABLE tasks ALTER COLUMN last_iteration TYPE bigint;
