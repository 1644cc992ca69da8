"""Stand-ins for ``vllm serve`` and ``llama-server`` that run :mod:`tests.serving.ckpt_server`,
so the README's models files run as written without a GPU.

``install(bin_dir)`` writes ``vllm`` and ``llama-server`` executables into ``bin_dir``; put it
first on ``PATH``. They accept the flags the README uses: ``vllm serve MODEL --port P
--served-model-name N`` and ``llama-server -m FILE --port P -a N [...]``. MODEL may be a
checkpoint directory holding ``skill`` (see ckpt_server); anything else serves skill 5.
Each prints its argv first, so tests can read the filled-in command from ``server.log``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def install(bin_dir: Path) -> None:
    """Write the ``vllm`` and ``llama-server`` stand-ins into ``bin_dir``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in ("vllm", "llama-server"):
        path = bin_dir / tool
        path.write_text(f"#!/bin/sh\nexec {sys.executable} {HERE / 'shim.py'} {tool} \"$@\"\n")
        path.chmod(0o755)


def main(argv: list[str]) -> None:
    tool, args = argv[0], argv[1:]
    print(f"argv: {tool} {' '.join(args)}", flush=True)
    parser = argparse.ArgumentParser(prog=tool)
    parser.add_argument("--port", type=int, required=True)
    if tool == "vllm":
        parser.add_argument("command", choices=["serve"])
        parser.add_argument("model")
        parser.add_argument("--served-model-name", dest="name")
    else:
        parser.add_argument("-m", "--model", dest="model", required=True)
        parser.add_argument("-a", "--alias", dest="name")
    known, _ = parser.parse_known_args(args)
    path = Path(known.model)
    if not (path / "skill").is_file():
        path = Path(tempfile.mkdtemp(prefix="shim-weights-"))
        (path / "skill").write_text("5\n")
    os.execv(sys.executable, [sys.executable, str(HERE / "ckpt_server.py"), "--port",
                              str(known.port), "--path", str(path), "--name",
                              known.name or known.model])


if __name__ == "__main__":
    main(sys.argv[1:])
