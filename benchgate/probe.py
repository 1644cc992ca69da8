"""The controller's first contact with each endpoint: the served model id (``/v1/models``)
and the served weights' fingerprint (:mod:`benchgate.fingerprint`), for models and judges."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchgate import fingerprint
from benchgate.errors import ConfigError, InfraError

if TYPE_CHECKING:
    from benchgate.runtime import Runtime


def probe(rt: Runtime) -> None:
    """Learn the served model ids from ``/v1/models``; an unreachable endpoint ends the run.

    Fills ``rt.served``/``rt.judges_served`` and ``rt.fingerprints`` (the weights' identity
    the cache keys on) and mirrors them into ``rt.shared`` for xdist workers."""
    wanted = [(spec, "model") for spec in rt.models.values() if spec.name not in rt.served]
    wanted += [(spec, "judge") for name, spec in rt.judges.items()
               if name not in rt.judges_served]
    for spec, kind in wanted:
        if not spec.endpoints:
            continue
        try:
            ids = rt.loop.run(rt.pool(spec).served_models(), timeout=60)
        except InfraError as exc:
            raise ConfigError(f"{spec.name} endpoint unreachable: {exc} (is the server "
                              "running? check --endpoint / the models file)") from None
        served = spec.served if spec.served in ids else (ids[0] if ids else spec.served)
        key = f"judge:{spec.name}" if kind == "judge" else spec.name
        if kind == "judge":
            rt.judges_served[spec.name] = served
            rt.shared["judges_served"] = dict(rt.judges_served)
            if spec is rt.judge:
                rt.judge_served = rt.shared["judge_served"] = served
        else:
            rt.served[spec.name] = served
            rt.shared["served"] = dict(rt.served)
        if spec.source == "simulator" and kind == "judge":
            found = fingerprint.make({"id": served, **rt.resolver.sim_judge_settings(served)}, {})
        elif spec.source == "simulator":
            found = fingerprint.make({"id": "sim", **rt.resolver.sim_settings()}, {})
        else:
            found = rt.loop.run(fingerprint.fetch(spec.endpoints[0], served, spec.api_key),
                                timeout=60)
        rt.fingerprints[key] = found
        if kind == "judge" and spec is rt.judge:
            rt.fingerprints[""] = found
        rt.shared["fingerprints"] = dict(rt.fingerprints)
