"""The web UI, served by `taskstream serve` on the API's port (issue 11).

Server-rendered pages (Jinja2) over the same read models and command handlers as the API: no SQL here, no store
of its own. `app.install(app)` mounts it; `session` holds what every page needs (who calls, rendering, CSRF);
`live` pushes the log to browsers by Server-Sent Events from one follower per process
(`projections.live_feed`).
"""
