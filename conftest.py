"""benchgate: the plugin runtime and the benchmark fixtures."""

pytest_plugins = ["benchgate.plugin", "fixtures.model"]
