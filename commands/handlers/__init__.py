"""Command handlers: load (under the streams' locks, in the one lock order), decide, save, in one transaction.

One module per command family. A handler takes a `CommandContext` (pool, inline projectors, read-model lookups), a
`Caller` (actor, event metadata, idempotency key) and a command message, and returns a plain result (a dict) that
the api turns into the envelope. The decisions themselves are the pure `decide_*` functions of `commands`.
"""
