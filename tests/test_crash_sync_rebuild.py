"""Crash harness, 2,000 models (issue 7, item 6): ``pumas sync`` (2,000 links) and ``pumas rebuild``
(Deep Scan of 2,000 folders) SIGKILLed at phase boundaries (per link, after the registry write, after
the index was cleared, before the bulk commit, ...) and at random times.  After each kill ``pumas list``
must list all 2,000 models with their files, staging must be clean, registered links must exist and
point at their models; after the next ``pumas sync`` links and registry agree exactly.

The library is laid out once per module (model folders + ``metadata.json`` written directly, then one
``Library.rebuild``), so the module stays fast.
"""

from __future__ import annotations

import json
import random
import shutil

import crash_cases
import pytest
from crash_cases import TALLY, comfy_tree, list_models, scratch
from crash_support import build_library, check_links, check_models, cli_args, last_phase, run_cli

from pumas_core.facade import Library

N_MODELS = 2000


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """``(root, state)`` of a library with 2,000 indexed LoRAs (state: a template without installs)."""
    path, cleanup = scratch(tmp_path_factory, "crash_big")
    root, state = path / "library", path / "state"
    build_library(root, N_MODELS)
    with Library.open(root, state, create=True) as lib:
        assert lib.rebuild()["indexed"] == N_MODELS
    yield path, root, state
    cleanup()
    print("\n" + crash_cases.summary())


def _fresh_install(path, root, state, name):
    """A new ComfyUI tree and a copy of the template state dir with it registered."""
    case_state = path / f"state-{name}"
    shutil.copytree(state, case_state)
    comfy = comfy_tree(path / f"ComfyUI-{name}")
    assert run_cli(cli_args(root, case_state, "apps", "add", comfy))[0] == "exit 0"
    return case_state, comfy


def _after_kill(root, state, comfy, reached) -> list[str]:
    violations: list[str] = []
    models = list_models(root, state, violations, f"after kill at {reached}")
    if len(models) != N_MODELS:
        violations.append(f"after kill at {reached}: `pumas list` shows {len(models)} of {N_MODELS} models")
    violations += check_models(root, models, hash_below=0)
    violations += check_links(root, state, comfy / "models", models, exact=False)
    outcome, out = run_cli(cli_args(root, state, "sync"))
    if outcome != "exit 0" or json.loads(out).get("errors"):
        violations.append(f"sync after kill at {reached}: {outcome} {out[-300:]}")
    violations += check_links(root, state, comfy / "models", models, exact=True)
    return violations


def _record(reached: str, violations: list[str]) -> list[str]:
    TALLY["cases"] += 1
    TALLY["kills"][reached] += 1
    TALLY["violations"] += violations
    return violations


SYNC_POINTS = ["sync.link:1", "sync.link:700", "sync.link:1400", "sync.link:2000", "sync.registered"]


@pytest.mark.parametrize("kill_at", SYNC_POINTS + [f"random:{i}" for i in range(3)])
def test_sync_of_2000_killed(big, kill_at):
    path, root, state = big
    name = kill_at.replace(":", "_").replace(".", "_")
    case_state, comfy = _fresh_install(path, root, state, name)
    phases = path / f"phases-{name}.txt"
    delay = 0.0
    if kill_at.startswith("random"):  # a random link, with random sleeps (up to 1 ms) at every phase
        rng = random.Random(kill_at)
        kill_at, delay = f"sync.link:{rng.randint(2, N_MODELS - 1)}", 0.001
    outcome, _ = run_cli(cli_args(root, case_state, "sync"), kill_at=kill_at, delay=delay, phase_file=phases)
    assert outcome == "killed", f"kill point {kill_at} not reached: {outcome}"
    violations = _record(last_phase(phases), _after_kill(root, case_state, comfy, last_phase(phases)))
    shutil.rmtree(comfy, ignore_errors=True)
    assert violations == []


REBUILD_POINTS = ["rebuild.cleared", "index.commit", "rebuild.batch", "rebuild.done"]


@pytest.mark.parametrize("kill_at", REBUILD_POINTS + [f"random:{i}" for i in range(2)])
def test_rebuild_of_2000_killed(big, kill_at):
    path, root, state = big
    name = "rebuild-" + kill_at.replace(":", "_").replace(".", "_")
    case_state, comfy = _fresh_install(path, root, state, name)
    assert run_cli(cli_args(root, case_state, "sync"))[0] == "exit 0"
    phases = path / f"phases-{name}.txt"
    if kill_at.startswith("random"):
        rng = random.Random(kill_at)
        outcome, _ = run_cli(cli_args(root, case_state, "rebuild"), kill_after=rng.uniform(0.05, 1.5),
                             phase_file=phases)
    else:
        outcome, _ = run_cli(cli_args(root, case_state, "rebuild"), kill_at=kill_at, phase_file=phases)
    if outcome != "killed":
        assert kill_at.startswith("random"), f"kill point {kill_at} not reached: {outcome}"
        pytest.skip(f"the rebuild finished before the random kill ({outcome})")
    violations = _record(last_phase(phases), _after_kill(root, case_state, comfy, last_phase(phases)))
    shutil.rmtree(comfy, ignore_errors=True)
    assert violations == []
