"""MMLU-Pro benchmark; ``SHOTS`` is set from ``--mmlu-pro-shots`` by this folder's conftest."""

SHOTS: int | None = None
