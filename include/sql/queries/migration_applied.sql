SELECT version, name, checksum FROM sync.schema_migration ORDER BY version
