"""DomainForge's small shared core: the records, the store and the workspace.

Storage goes through `store.py` (the `Store` and `Cache` interfaces and the
functions that open them); `sqlite_store.py` is the SQLite back end and the only
module that opens SQLite. A new store back end implements both interfaces in a
module beside it and is chosen in `open_store` / `open_cache`.
"""
