"""Configuration: the TOML file, its frozen schema, validation, masking, effective values."""
