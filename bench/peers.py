"""benchgate side by side with lm-evaluation-harness and inspect_ai (prints figures; not a test).

Same 500 GSM8K items (the first rows of the upstream test.jsonl), same simulator
(``benchgate.sim`` at a fixed latency, accuracy 0.7), same prompt text: lm-eval gets a local-file
task config and inspect_ai a small task file, both with benchgate's GSM8K template, so all three
send the identical user message. The answer key ("The final answer is N" right, N+1 wrong) is
registered for that message before every run, and since the simulator decides right or wrong
from a hash of (message, seed), the accuracy every tool reports is known in advance: each row
is checked against it.

Each peer lives in its own venv under bench/workdir/peers/<tool>/venv, created on first use
(``torch==2.13.0`` first for lm-eval, so pip takes the local CPU wheel). Every tool runs as a
child of a small wrapper that reports wall time, ``ru_maxrss`` of its children (the largest
single process of the tree) and the summed RSS of the whole tree sampled every 0.2 s.

Usage: python bench/peers.py [--items 500] [--concurrency 8,32,64] [--latency-ms 200]
       [--tools benchgate,lm-eval,inspect] [--runs 1] [--capacity 24] [--no-capacity]
Columns: wall = the tool's whole process (start-up, imports, data, requests, grading, output);
span = first request to last response at the simulator; ideal = C / latency items/s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WORKDIR = REPO / "bench" / "workdir" / "peers"
SOURCE = REPO.parent / "shared" / "datasets" / "gsm8k" / "test.jsonl"
sys.path.insert(0, str(REPO))

from benchgate.sim import _digest  # noqa: E402
from benchgate.simproc import SimProcess, get_json, post_json, sim_root  # noqa: E402
from benchmarks.gsm8k.test_gsm8k import PROMPT  # noqa: E402
from graders.gsm8k import reference_answer  # noqa: E402

UNKNOWN_REPLY = "I am the benchgate simulator"  # what the simulator says to unregistered prompts

# ---------------------------------------------------------------------------------------------
# venvs

PEER_INSTALLS = {
    # torch first, pinned to the CPU wheel on this machine's disk, or pip pulls a CUDA build
    "lm_eval": [["torch==2.13.0"], ["lm-eval[api]"]],
    "inspect_ai": [["inspect-ai", "openai"]],
}
PEER_PROBE = {"lm_eval": "import lm_eval, torch", "inspect_ai": "import inspect_ai, openai"}


def venv_python(tool: str) -> Path:
    return WORKDIR / tool / "venv" / "bin" / "python"


def ensure_venv(tool: str) -> str:
    """Create bench/workdir/peers/<tool>/venv once; return the installed version."""
    py = venv_python(tool)
    marker = WORKDIR / tool / "installed.json"
    if not (py.exists() and marker.exists()):
        (WORKDIR / tool).mkdir(parents=True, exist_ok=True)
        base = getattr(sys, "_base_executable", sys.executable)
        log = WORKDIR / tool / "install.log"
        print(f"# installing {tool} into {py.parent.parent} (one time; log {log})", flush=True)
        with log.open("w") as fh:
            if not py.exists():
                subprocess.run([base, "-m", "venv", str(py.parent.parent)], check=True,
                               stdout=fh, stderr=subprocess.STDOUT)
            for pkgs in PEER_INSTALLS[tool]:
                rc = subprocess.run([str(py), "-m", "pip", "install", "-q", *pkgs], stdout=fh,
                                    stderr=subprocess.STDOUT).returncode
                if rc != 0:
                    tail = [ln for ln in log.read_text().splitlines() if "is ignored" not in ln]
                    raise SystemExit(f"pip install {' '.join(pkgs)} failed for {tool}:\n"
                                     + "\n".join(tail[-15:]))
    out = subprocess.run([str(py), "-c", PEER_PROBE[tool] + "; from importlib.metadata import "
                          f"version; print(version({tool.replace('_', '-')!r}))"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{tool} venv is broken: {out.stderr[-800:]}")
    version = out.stdout.strip()
    marker.write_text(json.dumps({"version": version}))
    return version


# ---------------------------------------------------------------------------------------------
# data, answer key, task files


@dataclass
class Items:
    data_dir: Path  # DIR with gsm8k/test.jsonl (benchgate --data-dir)
    jsonl: Path
    key: dict[str, list[str]]
    expected_correct: int
    n: int


def make_items(n: int, source: Path) -> Items:
    data_dir = WORKDIR / f"data-{n}"
    jsonl = data_dir / "gsm8k" / "test.jsonl"
    lines = source.read_text().splitlines()[:n]
    if len(lines) < n:
        raise SystemExit(f"{source} has only {len(lines)} rows")
    text = "\n".join(lines) + "\n"
    if not jsonl.exists() or jsonl.read_text() != text:
        jsonl.parent.mkdir(parents=True, exist_ok=True)
        jsonl.write_text(text)
    key: dict[str, list[str]] = {}
    correct = 0
    for line in lines:
        row = json.loads(line)
        prompt = PROMPT.format(question=row["question"])
        answer = reference_answer(row["answer"])
        key[prompt] = [f"The final answer is {answer}",
                       f"The final answer is {int(float(answer)) + 1}"]
        # the simulator's rule (benchgate/sim.py reply_for): seed 0 when the request has none
        correct += _digest(prompt, 0, 0) < ACCURACY
    return Items(data_dir, jsonl, key, correct, n)


ACCURACY = 0.7


def lm_eval_task(items: Items) -> Path:
    """A local-file lm-eval task: gsm8k-cot-llama's filters and metric, benchgate's template."""
    root = WORKDIR / "lm_eval" / "tasks"
    root.mkdir(parents=True, exist_ok=True)
    template = PROMPT.replace("{question}", "{{question}}")
    q = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    (root / "gsm8k_peers.yaml").write_text(textwrap.dedent(f"""\
        task: gsm8k_peers
        dataset_path: json
        dataset_kwargs:
          data_files:
            test: {q(str(items.jsonl))}
        test_split: test
        output_type: generate_until
        doc_to_text: {q(template)}
        doc_to_target: "{{{{answer.split('####')[-1].strip()}}}}"
        target_delimiter: ""
        num_fewshot: 0
        generation_kwargs:
          until: []
          do_sample: false
          max_gen_toks: 1024
        filter_list:
          - name: strict-match
            filter:
              - function: regex
                group_select: -1
                regex_pattern: "The final answer is ((-?[$0-9.,]{{2,}})|(-?[0-9]+))"
              - function: take_first
          - name: flexible-extract
            filter:
              - function: regex
                group_select: -1
                regex_pattern: "(-?[$0-9.,]{{2,}})|(-?[0-9]+)"
              - function: take_first
        metric_list:
          - metric: exact_match
            aggregation: mean
            higher_is_better: true
            ignore_case: true
            ignore_punctuation: false
            regexes_to_ignore: [",", "\\\\$", "(?s).*#### ", "\\\\.$"]
        metadata:
          version: 1.0
        """))
    return root


def inspect_task(items: Items) -> Path:
    """An inspect_ai task file: benchgate's template, ``match(numeric=True)`` as inspect's own
    GSM8K eval grades."""
    path = WORKDIR / "inspect_ai" / "gsm8k_peers.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(f"""\
        from inspect_ai import Task, task
        from inspect_ai.dataset import Sample, json_dataset
        from inspect_ai.model import GenerateConfig
        from inspect_ai.scorer import match
        from inspect_ai.solver import generate

        PROMPT = {PROMPT!r}
        DATA = {str(items.jsonl)!r}


        def record_to_sample(record):
            return Sample(input=PROMPT.format(question=record["question"]),
                          target=record["answer"].split("####")[-1].strip())


        @task
        def gsm8k_peers():
            return Task(dataset=json_dataset(DATA, record_to_sample), solver=generate(),
                        scorer=match(numeric=True),
                        config=GenerateConfig(max_tokens=1024, temperature=0))
        """))
    return path


# ---------------------------------------------------------------------------------------------
# running a tool as a measured child

WRAPPER = r"""
import json, os, resource, subprocess, sys, threading, time
out, log, cwd, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
env = json.loads(os.environ.pop("PEERS_CHILD_ENV"))
page = os.sysconf("SC_PAGE_SIZE")

def tree_rss(root):
    parent, rss = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(d)] = int(fields[1])
        rss[int(d)] = int(fields[21]) * page
    total = 0
    for pid in rss:
        p = pid
        while p > 1:
            if p == root:
                total += rss[pid]
                break
            p = parent.get(p, 0)
    return total

peak = [0]
done = threading.Event()
def sample(pid):
    while not done.wait(0.2):
        peak[0] = max(peak[0], tree_rss(pid))

with open(log, "w") as fh:
    t0 = time.time()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT)
    thread = threading.Thread(target=sample, args=(proc.pid,), daemon=True)
    thread.start()
    rc = proc.wait()
    wall = time.perf_counter() - start
    done.set()
    thread.join()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as fh:
    json.dump({"rc": rc, "wall": wall, "t0": t0, "maxrss_kb": usage.ru_maxrss, "tree_peak": peak[0],
               "cpu": usage.ru_utime + usage.ru_stime}, fh)
"""


@dataclass
class Run:
    rc: int
    wall: float
    maxrss_mb: float
    tree_mb: float
    cpu_s: float
    stats: dict[str, Any]
    log: Path
    t0: float = 0.0  # wall-clock start of the tool (the simulator's clock, same machine)

    @property
    def span(self) -> float:
        """First request to last response, at the simulator."""
        st = self.stats
        return st["last_done"] - st["first_request"] if st.get("last_done") else 0.0

    @property
    def pre(self) -> float:
        """Start of the tool to its first request: start-up, imports, data, prompts."""
        return self.stats["first_request"] - self.t0 if self.stats.get("first_request") else 0.0


def base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    drop = {"PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(extra or {})
    return env


def measured(cmd: list[str], cwd: Path, log: Path, sim_url: str,
             env: dict[str, str] | None = None) -> Run:
    """Run ``cmd`` as a grandchild under the wrapper; reset the simulator's counters first."""
    post_json(sim_root(sim_url) + "/sim/reset", {})
    out = log.with_suffix(".measure.json")
    wenv = {"PATH": os.environ.get("PATH", ""),
            "PEERS_CHILD_ENV": json.dumps(env or base_env())}
    subprocess.run([sys.executable, "-c", WRAPPER, str(out), str(log), str(cwd), *cmd],
                   env=wenv, check=True)
    m = json.loads(out.read_text())
    stats = get_json(sim_root(sim_url) + "/sim/stats")
    return Run(m["rc"], m["wall"], m["maxrss_kb"] / 1024, m["tree_peak"] / 2**20, m["cpu"], stats,
               log, m["t0"])


# ---------------------------------------------------------------------------------------------
# the three tools


@dataclass
class Result:
    tool: str
    conc: str
    run: Run
    accuracy: float | None
    unknown: int | None = None  # responses the simulator gave to unregistered prompts
    note: str = ""
    walls: list[float] = field(default_factory=list)  # every run's wall time, when repeated
    checked: int = 0  # samples read back from the tool's own output
    lenient: int = 0  # wrong replies (N+1) the tool's own grader counted as right
    harsh: int = 0  # right replies the tool's own grader counted as wrong


def run_benchgate(items: Items, sim_url: str, conc: str, workers: int = 1,
                  cache: Path | None = None, tag: str = "") -> Result:
    name = f"benchgate-c{conc}-n{workers}{tag.replace(' ', '-')}"
    out = WORKDIR / "runs" / name
    out.mkdir(parents=True, exist_ok=True)
    report = out / "report.json"
    report.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "gsm8k"), "-q",
           "-p", "no:cacheprovider", "--tb=no", "--no-header",
           "--endpoint", sim_url, "--model", "sim", "--data-dir", str(items.data_dir),
           "--concurrency", conc, "--report", str(report)]
    cmd += ["--cache-dir", str(cache)] if cache else ["--no-cache"]
    if workers > 1:
        cmd += ["-n", str(workers)]
    post_json(sim_root(sim_url) + "/sim/register", {"answers": items.key})
    run = measured(cmd, out, out / "log.txt", sim_url)
    acc, note = None, "" if run.rc in (0, 1) else f"rc {run.rc}"
    if report.exists():
        g = _find(json.loads(report.read_text()), "gsm8k")
        if isinstance(g, dict):
            acc = g.get("score")
            if g.get("errors"):
                note = (f"{note} {g['errors']} items errored (retries ran out), "
                        f"accuracy over the other {g.get('n')}").strip()
    label = "benchgate" + (f" -n {workers}" if workers > 1 else "")
    return Result(label + tag, conc, run, acc, note=note)


def _find(obj: Any, key: str) -> Any:
    """The first value under ``key`` anywhere in a nested JSON object."""
    if isinstance(obj, dict):
        if key in obj and isinstance(obj[key], dict) and "score" in obj[key]:
            return obj[key]
        for v in obj.values():
            hit = _find(v, key)
            if hit is not None:
                return hit
    return None


def run_lm_eval(items: Items, sim_url: str, conc: int, tasks: Path, limit: int | None = None,
                tag: str = "") -> Result:
    name = f"lm_eval-c{conc}{tag}"
    out = WORKDIR / "runs" / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    py = venv_python("lm_eval")
    model_args = (f"model=sim,base_url={sim_url}/chat/completions,num_concurrent={conc},"
                  "max_retries=3,tokenized_requests=False,seed=0")
    cmd = [str(py), "-m", "lm_eval", "--model", "local-chat-completions",
           "--model_args", model_args, "--apply_chat_template", "--include_path", str(tasks),
           "--tasks", "gsm8k_peers", "--output_path", str(out / "results"), "--log_samples"]
    if limit:
        cmd += ["--limit", str(limit)]
    env = base_env({"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
                    "HF_HOME": str(WORKDIR / "lm_eval" / "hf-home"),
                    "TOKENIZERS_PARALLELISM": "false", "OPENAI_API_KEY": "EMPTY"})
    post_json(sim_root(sim_url) + "/sim/register", {"answers": items.key})
    run = measured(cmd, out, out / "log.txt", sim_url, env)
    res = Result("lm-eval", str(conc), run, None)
    results = sorted((out / "results").rglob("results_*.json"))
    if results:
        data = json.loads(results[-1].read_text())
        res.accuracy = data["results"]["gsm8k_peers"].get("exact_match,strict-match")
    samples = sorted((out / "results").rglob("samples_gsm8k_peers_*.jsonl"))
    graded: list[tuple[str, str, bool]] = []
    for line in samples[-1].read_text().splitlines() if samples else []:
        row = json.loads(line)
        if row.get("filter") != "strict-match":
            continue
        # {"gen_args_0": {"arg_0": ['<messages as JSON>', ...], "arg_1": gen_kwargs}}
        sent: Any = next(iter(row["arguments"].values()))["arg_0"]
        while isinstance(sent, list) and sent and not isinstance(sent[0], dict):
            sent = sent[0]
        messages = json.loads(sent) if isinstance(sent, str) else sent
        graded.append((messages[-1]["content"], row["resps"][0][0], row["exact_match"] == 1.0))
    analyse(res, graded, items)
    if run.rc != 0:
        res.note = f"rc {run.rc}: {_first_error(run.log)} {res.note}".strip()
    return res


def run_inspect(items: Items, sim_url: str, conc: int | None, task: Path,
                limit: int | None = None, tag: str = "") -> Result:
    label = "adaptive" if conc is None else str(conc)
    name = f"inspect-c{label}{tag}"
    out = WORKDIR / "runs" / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    py = venv_python("inspect_ai")
    # inspect resolves the task path as a glob under the working directory: run it from there
    cmd = [str(py), "-m", "inspect_ai", "eval", task.name, "--model", "openai-api/sim/sim",
           "--model-base-url", sim_url, "--log-dir", str(out / "logs"), "--display", "none",
           "--log-level", "warning"]
    if conc is not None:
        cmd += ["--max-connections", str(conc)]
    if limit:
        cmd += ["--limit", str(limit)]
    env = base_env({"SIM_API_KEY": "EMPTY", "INSPECT_LOG_DIR": str(out / "logs")})
    post_json(sim_root(sim_url) + "/sim/register", {"answers": items.key})
    run = measured(cmd, task.parent, out / "log.txt", sim_url, env)
    res = Result("inspect_ai" + (" adaptive" if conc is None else ""), label, run, None)
    # read the log after the timed run, with inspect's own reader
    reader = textwrap.dedent("""\
        import json, sys
        from inspect_ai.log import list_eval_logs, read_eval_log
        log = read_eval_log(list_eval_logs(sys.argv[1])[0])
        acc = None
        if log.results and log.results.scores:
            acc = log.results.scores[0].metrics["accuracy"].value
        rows = [(s.messages[0].text if s.messages else "", s.output.completion or "",
                 next(iter(s.scores.values())).value == "C" if s.scores else False)
                for s in log.samples or []]
        errors = sum(s.error is not None for s in (log.samples or []))
        print(json.dumps({"status": log.status, "accuracy": acc, "rows": rows, "errors": errors,
                          "error": str(log.error)[-300:] if log.error else None}))
        """)
    got = subprocess.run([str(py), "-c", reader, str(out / "logs")], capture_output=True,
                         text=True, env=env)
    if got.returncode == 0:
        info = json.loads(got.stdout.strip().splitlines()[-1])
        res.accuracy = info["accuracy"]
        analyse(res, [tuple(r) for r in info["rows"]], items)
        if info["status"] != "success" or info["errors"]:
            res.note = (f"{info['status']}, {info['errors']} sample errors "
                        f"{info['error'] or ''} {res.note}").strip()
    else:
        res.note = f"no log: {got.stderr.strip()[-200:]}"
    if run.rc != 0:
        res.note = f"rc {run.rc}: {_first_error(run.log)} {res.note}".strip()
    return res


def analyse(res: Result, graded: list[Any], items: Items) -> None:
    """Check each (sent prompt, reply, graded right) against the answer key."""
    res.checked = len(graded)
    for prompt, reply, right in graded:
        pair = items.key.get(prompt)
        if pair is None:
            res.unknown = (res.unknown or 0) + 1
        elif right and reply == pair[1]:
            res.lenient += 1
        elif not right and reply == pair[0]:
            res.harsh += 1


def _first_error(log: Path) -> str:
    """The first exception line of a log (``SomeError: message``), else its last line."""
    import re

    lines = log.read_text(errors="replace").splitlines()
    for line in lines:
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception): ", line):
            return line[:200]
    return _tail(log)


def _tail(log: Path, n: int = 160) -> str:
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[-n:]


# ---------------------------------------------------------------------------------------------
# table


def median_result(results: list[Result]) -> Result:
    """The run with the median wall time (odd counts) or the faster middle one."""
    ordered = sorted(results, key=lambda r: r.run.wall)
    mid = ordered[(len(ordered) - 1) // 2]
    mid.walls = [r.run.wall for r in results]
    return mid


HEADER = (f"{'tool':<22} {'C':>8} {'wall s':>7} {'items/s':>8} {'/ideal':>6} {'vs bg':>6} "
          f"{'pre s':>6} {'span s':>6} {'post s':>6} {'span/id':>7} {'RSS MB':>6} {'tree MB':>7} "
          f"{'cpu s':>6} {'acc':>6} {'reqs':>5} {'429s':>5} {'maxinf':>6}  note")


def row(res: Result, n: int, latency_s: float, ideal_conc: int | None,
        bg_wall: float | None) -> str:
    r = res.run
    st = r.stats
    span = r.span
    post = r.wall - r.pre - span if span else 0.0
    rate = n / r.wall
    ideal = ideal_conc / latency_s if ideal_conc else None
    ratio = f"{rate / ideal:.2f}" if ideal else "-"
    span_ratio = f"{n / span / ideal:.2f}" if ideal and span > 0 else "-"
    vs = f"{r.wall / bg_wall:.2f}" if bg_wall else "-"
    acc = f"{res.accuracy:.3f}" if res.accuracy is not None else "n/a"
    note = res.note
    if res.unknown:
        note = (note + f" {res.unknown} prompts differ from benchgate's").strip()
    if res.lenient or res.harsh:
        note = (note + f" grader: {res.lenient} wrong replies passed, {res.harsh} right "
                "replies failed").strip()
    if len(res.walls) > 1:
        note = (note + " walls " + "/".join(f"{w:.1f}" for w in sorted(res.walls))).strip()
    return (f"{res.tool:<22} {res.conc:>8} {r.wall:>7.2f} {rate:>8.1f} {ratio:>6} {vs:>6} "
            f"{r.pre:>6.2f} {span:>6.2f} {post:>6.2f} {span_ratio:>7} {r.maxrss_mb:>6.0f} "
            f"{r.tree_mb:>7.0f} {r.cpu_s:>6.1f} {acc:>6} {st.get('requests', 0):>5} "
            f"{st.get('faults', 0):>5} {st.get('max_inflight', 0):>6}  {note}")


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--source", type=Path, default=SOURCE, help="upstream GSM8K test.jsonl")
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--concurrency", default="8,32,64")
    parser.add_argument("--tools", default="benchgate,lm-eval,inspect")
    parser.add_argument("--runs", type=int, default=1, help="runs per cell; the median is shown")
    parser.add_argument("--capacity", type=int, default=24,
                        help="simulator capacity for the --concurrency auto rows")
    parser.add_argument("--no-capacity", action="store_true", help="skip the capacity rows")
    parser.add_argument("--no-cache-rows", action="store_true", help="skip cold/warm cache rows")
    args = parser.parse_args()
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    levels = [int(c) for c in args.concurrency.split(",")]
    latency_s = args.latency_ms / 1000
    (WORKDIR / "runs").mkdir(parents=True, exist_ok=True)

    versions = {"benchgate": _benchgate_version()}
    if "lm-eval" in tools:
        versions["lm-eval"] = ensure_venv("lm_eval")
    if "inspect" in tools:
        versions["inspect_ai"] = ensure_venv("inspect_ai")
    items = make_items(args.items, args.source)
    tasks = lm_eval_task(items) if "lm-eval" in tools else None
    itask = inspect_task(items) if "inspect" in tools else None
    print(f"# versions: {', '.join(f'{k} {v}' for k, v in versions.items())}; "
          f"python {sys.version.split()[0]}; {os.cpu_count()} cores")
    print(f"# items: first {items.n} rows of {args.source}; simulator latency "
          f"{args.latency_ms:.0f} ms, accuracy {ACCURACY}; expected accuracy for the identical "
          f"prompt: {items.expected_correct}/{items.n} = {items.expected_correct / items.n:.3f}")

    sim = SimProcess(accuracy=ACCURACY, latency_ms=args.latency_ms, fail_rate=0)
    rows: list[str] = []
    all_results: list[Result] = []
    try:
        # warm-up (untimed): byte-compile fresh venvs, build lm-eval's dataset cache
        if "lm-eval" in tools:
            assert tasks is not None
            run_lm_eval(items, sim.url, 8, tasks, limit=5, tag="-warmup")
        if "inspect" in tools:
            assert itask is not None
            run_inspect(items, sim.url, 8, itask, limit=5, tag="-warmup")
        run_benchgate(items, sim.url, "8", tag="-warmup")

        print(f"\n## throughput: {items.n} GSM8K items, simulator at {args.latency_ms:.0f} ms "
              f"(median of {args.runs} run(s) per cell)")
        print(HEADER)
        for conc in levels:
            cell: list[Result] = []
            bg = median_result([run_benchgate(items, sim.url, str(conc))
                                for _ in range(args.runs)]) if "benchgate" in tools else None
            if bg is not None:
                cell.append(bg)
                cell.append(median_result([run_benchgate(items, sim.url, str(conc), workers=2)
                                           for _ in range(args.runs)]))
            if "lm-eval" in tools:
                assert tasks is not None
                cell.append(median_result([run_lm_eval(items, sim.url, conc, tasks)
                                           for _ in range(args.runs)]))
            if "inspect" in tools:
                assert itask is not None
                cell.append(median_result([run_inspect(items, sim.url, conc, itask)
                                           for _ in range(args.runs)]))
            bg_wall = bg.run.wall if bg else None
            for res in cell:
                line = row(res, items.n, latency_s, conc, bg_wall)
                print(line, flush=True)
                rows.append(line)
            all_results += cell

        if not args.no_cache_rows and "benchgate" in tools:
            conc = levels[0]
            cache = WORKDIR / "runs" / "cache"
            shutil.rmtree(cache, ignore_errors=True)
            print(f"\n## benchgate response cache (C={conc}; warm = the same command again)")
            print(HEADER)
            cold = run_benchgate(items, sim.url, str(conc), cache=cache, tag=" cold")
            warm = median_result([run_benchgate(items, sim.url, str(conc), cache=cache,
                                                tag=" warm") for _ in range(max(args.runs, 3))])
            for res in (cold, warm):
                print(row(res, items.n, latency_s, conc, cold.run.wall), flush=True)
            floor = _pytest_floor()
            per_item = warm.run.wall / items.n
            print(f"warm/cold: {cold.run.wall / warm.run.wall:.1f}x faster (target >= 20x); "
                  f"model calls on the warm run: {warm.run.stats.get('requests', 0)}; warm = "
                  f"{per_item * 1000:.1f} ms/item including a {floor:.2f} s bare pytest start; "
                  f"20x needs a cold run of >= {20 * per_item * 1000:.0f} ms/item, i.e. "
                  f"C <= {latency_s / (20 * per_item):.1f} at {args.latency_ms:.0f} ms")
            all_results += [cold, warm]
    finally:
        sim.stop()

    if not args.no_capacity:
        print(f"\n## simulator with --capacity {args.capacity} (429 beyond it), "
              f"{args.latency_ms:.0f} ms; ideal = capacity / latency")
        print(HEADER)
        csim = SimProcess(accuracy=ACCURACY, latency_ms=args.latency_ms, fail_rate=0,
                          extra=["--capacity", str(args.capacity)])
        try:
            cap_rows: list[Result] = []
            if "benchgate" in tools:
                cap_rows.append(median_result([run_benchgate(items, csim.url, "auto", tag=" auto")
                                               for _ in range(args.runs)]))
                cap_rows.append(median_result([run_benchgate(items, csim.url, "64",
                                                             tag=" fixed")
                                               for _ in range(args.runs)]))
            if "lm-eval" in tools:
                assert tasks is not None
                cap_rows.append(run_lm_eval(items, csim.url, 64, tasks, tag="-cap"))
            if "inspect" in tools:
                assert itask is not None
                cap_rows.append(run_inspect(items, csim.url, None, itask, tag="-cap"))
                cap_rows.append(run_inspect(items, csim.url, 64, itask, tag="-cap"))
            bg_wall = cap_rows[0].run.wall if "benchgate" in tools else None
            for res in cap_rows:
                print(row(res, items.n, latency_s, args.capacity, bg_wall), flush=True)
            all_results += cap_rows
        finally:
            csim.stop()

    expected = items.expected_correct / items.n
    bad = [r for r in all_results if r.accuracy is None or abs(r.accuracy - expected) > 1e-9]
    print(f"\n## accuracy check: every tool must report {expected:.3f} "
          f"({items.expected_correct}/{items.n}, predicted from the simulator's hash)")
    checked = [r for r in all_results if r.checked]
    if checked:
        same = sum(r.checked - (r.unknown or 0) for r in checked)
        print(f"peer prompts read back from their own logs: {same}/{sum(r.checked for r in checked)}"
              " identical to benchgate's (the simulator answers only those)")
    if not bad:
        print(f"all {len(all_results)} rows agree")
    for r in bad:
        why = []
        if r.accuracy is None:
            why.append(f"no accuracy reported: {r.note}")
        if r.unknown:
            why.append(f"{r.unknown} prompts differ from benchgate's")
        if r.lenient or r.harsh:
            why.append(f"same replies, different grading: the tool's grader passed {r.lenient} "
                       f"wrong replies (N+1) and failed {r.harsh} right ones")
        if r.accuracy is not None and not why:
            why.append(r.note or "unexplained")
        shown = "n/a" if r.accuracy is None else f"{r.accuracy:.4f}"
        print(f"MISMATCH {r.tool} C={r.conc}: {shown}: {'; '.join(why)}")
    if any(r.lenient for r in bad if r.tool.startswith("inspect")):
        print("  inspect_ai: match(numeric=True) compares numbers as format(x, '.5g'), so from "
              "100,000 up N+1 equals N (118001 -> '1.18e+05' == 118000)")


def _benchgate_version() -> str:
    from importlib.metadata import version

    return version("benchgate")


def _pytest_floor() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "--version"], capture_output=True,
                   env=base_env())
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
