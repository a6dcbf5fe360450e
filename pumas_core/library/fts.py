"""Full-text query building for the index (SQLite FTS5, ``unicode61`` tokenizer)."""

from __future__ import annotations

import re

TOKEN = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str | None:
    """Turn user text into an FTS5 MATCH expression: every word must match as a prefix.

    ``"sd xl-base"`` → ``"sd"* AND "xl"* AND "base"*``.  Returns ``None`` when the text has no word.
    """
    words = TOKEN.findall(text.replace("_", " "))
    if not words:
        return None
    return " AND ".join('"' + w.replace('"', '""') + '"*' for w in words)
