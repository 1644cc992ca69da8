"""pytest-xdist integration: share the controller's endpoint facts with workers, and partition
items up front so each worker knows, right after collection, exactly which items it will run
and can start all their calls at once. No item runs on two workers, so no call is made twice.
"""

from __future__ import annotations

from typing import Any

import pytest
from xdist.scheduler import LoadScheduling

from benchgate.partition import share
from benchgate.runtime import Runtime
from benchgate.session import Session


class PartitionScheduling(LoadScheduling):
    """``--dist load`` with a fixed round-robin split: item i goes to worker ``gw{i % N}``.

    Workers compute the same split from their own (identical) collection, so prefetching
    matches what they are sent. Crashed workers' leftovers fall back to LoadScheduling.
    """

    def schedule(self) -> None:
        if self.collection is not None:  # type: ignore[has-type]
            super().schedule()
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        ids = {int(node.workerinput["workerid"][2:]): node for node in self.nodes}
        count = int(next(iter(self.nodes)).workerinput["workercount"])
        if sorted(ids) != list(range(count)):
            super().schedule()
            return
        collection = next(iter(self.node2collection.values()))
        self.collection = collection
        for k, node in ids.items():
            mine = list(share(len(collection), k, count))
            self.node2pending[node].extend(mine)
            if mine:
                node.send_runtest_some(mine)
        self.pending[:] = []
        for node in self.nodes:
            node.shutdown()


class XdistHooks:
    """Registered only when pytest-xdist is installed."""

    def __init__(self, runtime: Runtime, session: Session) -> None:
        self.runtime = runtime
        self.session = session

    def pytest_configure_node(self, node: Any) -> None:
        config = node.config
        if self.runtime.model is not None and (
                not config.option.update_snapshots or config.getoption("keyword")
                or config.getoption("limit") or config.getoption("per_category")):
            # the controller merges workers' syrupy reports: it must not judge subsets unused
            config.option.disable_unused_snapshots = True
        node.workerinput["benchgate"] = {**self.runtime.shared, "spool": self.session.start_spool()}
        node.workerinput["benchgate_partition"] = node.config.getoption("dist") == "load"

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """On the controller, a worker's benchgate collection error (bad data, a threshold on
        an unknown benchmark or metric) stops the session as the usage error it is serially."""
        text = str(report.longrepr or "") if report.failed else ""
        if text.startswith("benchgate: ") and not hasattr(self.runtime.config, "workerinput"):
            raise pytest.UsageError(text.splitlines()[0])

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if config.getoption("dist") == "load":
            return PartitionScheduling(config, log)
        return None
