"""IDoc documents: records, segment metadata, parser files, validation."""
