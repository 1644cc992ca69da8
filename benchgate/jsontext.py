"""The JSON encoders benchgate's per-item paths share: ``json.dumps`` with keyword options
builds a new ``JSONEncoder`` on every call, so each purpose keeps one.

- :data:`LINE`: what benchgate writes to its files (items files, the workers' spool), UTF-8 as is.
- :data:`TEXT`: text to scan or show (redaction's one pass over a record, JUnit properties);
  objects JSON does not know become their ``str``.
"""

from __future__ import annotations

import json

LINE = json.JSONEncoder(ensure_ascii=False)
TEXT = json.JSONEncoder(ensure_ascii=False, default=str)
