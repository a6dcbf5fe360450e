"""The library on disk: metadata.json files (truth), models.db (index), Deep Scan."""
