"""Run ``llama_cpp.server`` with llama.cpp's extra CPU buffer types turned off.

A natively built llama.cpp uses AMX tiles for matrix products when the CPU advertises them; in
virtual machines that advertise ``amx_tile`` without enabling it, the first ``ldtilecfg`` is a
general-protection fault and the server dies on its first completion. The extra buffer types
(AMX and weight repacking) are what route matmuls there, so the e2e tier turns them off; the
model's answers do not depend on it. Usage: ``python tests/e2e/llama_launch.py <server args>``.
"""

from __future__ import annotations

import runpy

import llama_cpp.llama_cpp as llama_lib

_default_params = llama_lib.llama_model_default_params


def _params_without_extra_buffers() -> llama_lib.llama_model_params:
    params = _default_params()
    params.use_extra_bufts = False
    return params


llama_lib.llama_model_default_params = _params_without_extra_buffers
if __name__ == "__main__":
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
