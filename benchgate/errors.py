"""Exception types that separate infrastructure trouble from model failures."""


class BenchgateError(Exception):
    """Base class for benchgate's own errors."""


class ConfigError(BenchgateError):
    """Bad options, models file or data location; shown as a one-line usage error."""


class DataError(ConfigError):
    """Dataset missing or malformed."""


class InfraError(BenchgateError):
    """Endpoint or judge failure after retries: the item is an error, never a model failure."""
