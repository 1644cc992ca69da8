"""The one place the xdist split is computed: which items worker ``gw<k>`` of ``n`` runs.

The controller's scheduler (``xdist_hooks.PartitionScheduling``) sends each worker exactly this
share, and each worker prefetches the calls of exactly this share right after collection
(``plugin.pytest_collection_finish``), so no call is made twice and none waits for a send.
"""

from __future__ import annotations


def share(count: int, worker: int, workers: int) -> range:
    """Collection indices run by worker ``worker`` (0-based) of ``workers``: round robin, so
    every worker gets items of every benchmark and shares differ in size by at most one."""
    return range(worker, count, workers)
