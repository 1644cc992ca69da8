"""The plugin and its fixtures come from the ``pytest11`` entry points (pyproject.toml)."""
