"""Crash harness, imports (issue 7, item 6): ``pumas import`` in copy and in move mode, of a single
file and of a Sharded Set, SIGKILLed at every phase boundary the importer announces (and at random
times with random delays between phases).  After each kill ``pumas list`` opens the library and
:func:`crash_cases.import_case` checks: no source lost, no model indexed with missing or partial files,
nothing hidden or stored twice, staging cleaned, links and registry agree, re-import works.
"""

from __future__ import annotations

import random

import crash_cases
import pytest
from crash_cases import import_case, scratch


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path, cleanup = scratch(tmp_path_factory, "crash_import")
    yield path
    cleanup()
    print("\n" + crash_cases.summary())


# phases of one import, in order (testhooks names); ``name:n`` = the n-th time it is announced
SINGLE_COPY = ["import.staged", "import.read_chunk:1", "import.copy_chunk:1", "import.read_chunk:3",
               "import.copy_chunk:2", "import.copy_chunk:3", "import.hashed", "import.metadata_written",
               "import.intent_written", "import.renamed", "index.commit", "import.indexed", "sync.link",
               "sync.registered", "import.linked"]
SINGLE_MOVE = ["import.staged", "import.journaled", "import.moved", "import.read_chunk:1", "import.read_chunk:3",
               "import.hashed", "import.metadata_written", "import.intent_written", "import.renamed", "index.commit",
               "import.indexed", "sync.link", "sync.registered", "import.linked"]
SHARDED_MOVE = ["import.moved:1", "import.hashed:1", "import.moved:2", "import.hashed:2", "import.renamed",
                "import.indexed"]
SHARDED_COPY = ["import.staged", "import.copy_chunk:2", "import.hashed:2", "import.metadata_written", "import.renamed",
                "index.commit"]

CASES = ([("copy", "big" if "chunk" in k else "single", k) for k in SINGLE_COPY]
         + [("move", "big" if "chunk" in k else "single", k) for k in SINGLE_MOVE]
         + [("move", "sharded", k) for k in SHARDED_MOVE] + [("copy", "sharded", k) for k in SHARDED_COPY])


@pytest.mark.parametrize("mode,kind,kill_at", CASES, ids=[f"{m}-{k}-{p}" for m, k, p in CASES])
def test_import_killed_at_phase(base, mode, kind, kill_at, request):
    case = base / request.node.name.split("[", 1)[1].rstrip("]").replace(":", "_")
    assert import_case(case, mode=mode, kind=kind, kill_at=kill_at, seed=len(request.node.name)) == []


@pytest.mark.parametrize("n", range(6))
def test_import_killed_at_random_time(base, n):
    """SIGKILL from outside after a random time, with random sleeps (up to 50 ms) at every phase."""
    rng = random.Random(7000 + n)
    mode = ("copy", "move")[n % 2]
    kind = ("big", "sharded")[(n // 2) % 2]
    violations = import_case(base / f"random{n}", mode=mode, kind=kind, kill_after=rng.uniform(0.3, 1.5),
                             delay=0.05, seed=100 + n)
    assert violations == []
