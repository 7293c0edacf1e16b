"""DomainForge's small shared core: the records, the store and the workspace."""
