"""Resolution of the models and the judge a session runs against, and the simulator's lifecycle.

Sources, in order: ``--responses`` (no endpoint), ``--endpoint URL`` (ad hoc), ``--model sim``
(the simulator, started here once per session and shared with xdist workers), or the models
file. The judges (a panel when several): ``--judge-endpoint``, every ``--judge NAME``, the
models file's ``defaults.judges`` or ``defaults.judge`` (for models from the file, the same
serially and under ``-n``), and ``sim`` for ``--model sim`` alone: the offline demo never calls
a real judge unless ``--judge`` says so. ``sim-<mode>`` names a simulated judge of that mode.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from benchgate import options
from benchgate.config import ModelsFile, ModelSpec, check_url, load_models_file, pick
from benchgate.errors import ConfigError
from benchgate.redact import register_secret
from benchgate.serve_config import sweep_members
from benchgate.simjudge import SIM_JUDGES, mode_of
from benchgate.simproc import DEFAULT_FAULTS, FAULTS, SimProcess


def _slug(url: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", url.split("://", 1)[-1]).strip("-")


class Resolver:
    """Turns options and the models file into :class:`ModelSpec` objects."""

    def __init__(self, config: pytest.Config, shared: dict[str, Any], replay: bool) -> None:
        self.config = config
        self.shared = shared
        self.replay = replay
        self.sim: SimProcess | None = None
        self._file: ModelsFile | None = None

    def models_file(self) -> ModelsFile:
        """The parsed models file (read once)."""
        if self._file is None:
            path = Path(options.get(self.config, "models_file") or "models.yaml")
            if not path.exists():
                raise ConfigError(f"models file {path} not found (pass --models-file PATH, "
                                  "--endpoint URL, or --model sim)")
            self._file = load_models_file(path)
            for spec in [*self._file.models.values(), *self._file.judges.values()]:
                register_secret(spec.api_key)
        return self._file

    def sim_faults(self) -> tuple[str, ...]:
        """``--sim-faults`` as fault kinds (default: the simulator's), an unknown kind refused."""
        raw = options.get(self.config, "sim_faults")
        if raw is None:
            return DEFAULT_FAULTS
        kinds = tuple(dict.fromkeys(k.strip() for k in str(raw).split(",") if k.strip()))
        bad = [k for k in kinds if k not in FAULTS]
        if bad or not kinds:
            what = f"unknown fault kind {bad[0]!r}" if bad else "names no fault kind"
            raise ConfigError(f"--sim-faults {raw}: {what} (valid: {', '.join(FAULTS)})")
        return kinds

    def sim_settings(self) -> dict[str, Any]:
        """What the simulator answers with: part of its fingerprint."""
        get = options.get
        return {"accuracy": float(get(self.config, "sim_accuracy")),
                "fail_rate": float(get(self.config, "sim_fail_rate")),
                "faults": list(self.sim_faults()),
                **({} if get(self.config, "sim_flaky") is None else
                   {"flaky": float(get(self.config, "sim_flaky"))})}

    def start_sim(self) -> str:
        """The simulator's URL, starting it on first use (workers reuse the controller's)."""
        if "sim_url" in self.shared:
            return str(self.shared["sim_url"])
        get = options.get
        self.sim = SimProcess(get(self.config, "sim_accuracy"), get(self.config, "sim_latency_ms"),
                              get(self.config, "sim_fail_rate"), faults=self.sim_faults(),
                              extra=([] if get(self.config, "sim_flaky") is None else
                                     ["--flaky", str(get(self.config, "sim_flaky"))])
                              + ["--judge", str(get(self.config, "sim_judge"))])
        self.shared["sim_url"] = self.sim.url
        return self.sim.url

    def model(self, name: str | None) -> ModelSpec | None:
        """The model named ``name`` (None: no model given)."""
        endpoint = options.get(self.config, "endpoint")
        if self.replay:
            return ModelSpec(name=name or "responses", endpoints=(), served=name,
                             source="--responses")
        if endpoint:
            url = check_url(endpoint, "--endpoint")
            return ModelSpec(name=name or _slug(url), endpoints=(url,), served=name,
                             source="--endpoint")
        if name is None:
            return None
        if name == "sim":
            return ModelSpec(name="sim", endpoints=(self.start_sim(),), served="sim",
                             source="simulator")
        file = self.models_file()
        spec: ModelSpec = pick("model", name, file.models, file.path)
        return spec

    def models(self, name: str | None) -> list[ModelSpec]:
        """The models ``name`` selects: a sweep key gives every checkpoint, in natural order."""
        if name is not None and not self.replay and not options.get(self.config, "endpoint") \
                and name != "sim":
            file = self.models_file()
            if name in file.sweeps:
                members = sweep_members(file.sweeps[name], file.path)
                return [file.models[m] for m in members]
        spec = self.model(name)
        return [] if spec is None else [spec]

    def judges(self, models: dict[str, ModelSpec]) -> list[ModelSpec]:
        """The judge panel for judged benchmarks (empty: none): every ``--judge``, else the
        models file's ``defaults.judges`` (or ``judge``), else ``sim`` for ``--model sim``."""
        endpoint = options.get(self.config, "judge_endpoint")
        names = options.judge_names(self.config)
        if endpoint:
            if len(names) > 1:
                raise ConfigError("--judge-endpoint takes at most one --judge (the served name "
                                  f"there), got {len(names)}")
            url = check_url(endpoint, "--judge-endpoint")
            name = names[0] if names else None
            return [ModelSpec(name=name or _slug(url), endpoints=(url,), served=name,
                              source="--judge-endpoint")]
        from_file = any(spec.source == "models file" for spec in models.values())
        if not names and from_file:
            names = self.models_file().default_judges
        sim_only = options.model_names(self.config) == ["sim"] and not options.get(
            self.config, "endpoint")
        if not names and sim_only:
            names = ["sim"]  # the simulator judges its own answers unless told otherwise
        out = []
        for name in names:
            if name in SIM_JUDGES:
                out.append(ModelSpec(name=name, endpoints=(self.start_sim(),), served=name,
                                     format=None, source="simulator"))
                continue
            file = self.models_file()
            out.append(pick("judge", name, file.judges, file.path))
        return out

    def judge(self, models: dict[str, ModelSpec]) -> ModelSpec | None:
        """The first judge of :meth:`judges`, or None."""
        return next(iter(self.judges(models)), None)

    def sim_judge_settings(self, served: str | None) -> dict[str, Any]:
        """What a simulated judge answers with: part of its fingerprint (its mode included)."""
        mode = mode_of(served, str(options.get(self.config, "sim_judge")))
        return {**self.sim_settings(), "judge": mode}

    def stop(self) -> None:
        """Stop the simulator this process started."""
        if self.sim is not None:
            self.sim.stop()
            self.sim = None
