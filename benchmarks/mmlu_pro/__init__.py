"""MMLU-Pro benchmark; ``SHOTS`` is set from ``--mmlu-pro-shots`` by this folder's conftest."""

SHOTS: int | None = None
OFFICIAL_FILL: bool = False
"""``--mmlu-pro-official-fill``: also report ``accuracy_official`` (upstream's random-guess fill)."""
