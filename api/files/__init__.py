"""The files endpoint: what the `clearml` SDK's HTTP storage driver does against a ClearML files server, served
under `/files/` on the API's port (see `routes.py`). Bytes live on disk under a per-company root (`storage.py`),
uploads are parsed as they stream in (`upload.py`), URL paths and field names are mapped by pure rules
(`paths.py`), and each stored file's metadata is catalogued in PostgreSQL (`commands.files`)."""
