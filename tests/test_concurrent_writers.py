"""Several real processes writing one library at once (issue 7, item 5).

2–4 ``pumas import`` processes start each round at the same moment (file barrier, see
``concurrency_worker.py``): they import the same file, or the same bytes under different names.
Every round must give exactly one model per content, the others "skipped: already in the library",
no failure, no leftover staging.  ``pumas list`` in a loop must not break an import running in another
process, and four concurrent ``pumas sync`` runs must all exit 0 with a correct tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from st_writer import write_safetensors

from pumas_core.facade import Library
from pumas_core.library.deepscan import iter_model_dirs

WORKER = Path(__file__).with_name("concurrency_worker.py")
ROUNDS = 20


def _env():
    return {**os.environ, "PUMAS_OFFLINE": "1",
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}


def _model(path: Path, tag: str) -> Path:
    """A small, valid, unique LoRA safetensors file (kohya names; the tag makes the bytes unique)."""
    return write_safetensors(path, {"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", [4, 64]),
                                    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", [64, 4])},
                             metadata={"ss_network_module": "networks.lora", "round": tag})


def _leftovers(root: Path) -> list[str]:
    staging = root / ".staging"
    return sorted(p.name for p in staging.iterdir() if p.name != "library.lock") if staging.is_dir() else []


def _run_workers(args_for, n: int) -> list[list[dict]]:
    procs = [subprocess.Popen([sys.executable, str(WORKER), *args_for(i)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_env()) for i in range(n)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-2000:]
        outs.append([json.loads(line) for line in out.splitlines() if line.strip()])
    return outs


def test_concurrent_imports_one_model_per_content_no_failures(lib_dirs, tmp_path, comfy_tree):
    """20 rounds, 2-4 processes each: same file (even rounds) or same bytes under different names (odd).
    An install is registered, so every import also syncs its new model's links."""
    root, state = lib_dirs
    with Library.open(root, state) as lib:
        lib.add_app(comfy_tree)
    nproc = 4
    plan, contents = [], []
    for r in range(ROUNDS):
        src = _model(tmp_path / "src" / f"r{r}" / f"model_{r}.safetensors", str(r))
        contents.append(src)
        k = 2 + r % 3  # 2, 3 or 4 processes race on this content
        if r % 2 == 0:
            paths = [str(src)] * k
        else:
            paths = []
            for w in range(k):
                dup = src.parent / f"copy{w}_of_{r}.safetensors"
                shutil.copyfile(src, dup)
                paths.append(str(dup))
        plan.append(paths + [str(src)] * (nproc - k))  # extra workers import the same file late in the race
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    bdir = tmp_path / "barrier"
    bdir.mkdir()
    outs = _run_workers(lambda i: ["import", str(root), str(state), str(bdir), str(i), str(nproc), str(plan_file)],
                        nproc)
    failures, imported, skipped = [], 0, 0
    for r in range(ROUNDS):
        reports = [o[r]["report"] for o in outs]
        assert all(o[r]["code"] == 0 for o in outs), [o[r] for o in outs]
        failures += [f for rep in reports for f in rep["failed"]]
        failures += [e for rep in reports for e in (rep.get("sync") or {}).get("errors", [])]
        got = [m for rep in reports for m in rep["imported"]]
        assert len(got) == 1, f"round {r}: {len(got)} imports of one content"
        imported += 1
        for rep in reports:
            for s in rep["skipped"]:
                assert s["reason"] == "already in the library" and s["model_id"] == got[0]["model_id"]
                skipped += 1
    assert failures == []
    assert imported == ROUNDS and skipped == ROUNDS * (nproc - 1)
    with Library.open(root, state) as lib:
        models = lib.list_models()
        assert len(models) == ROUNDS == len({m["model_id"] for m in models})
        assert len(list(iter_model_dirs(root))) == ROUNDS  # no second copy on disk, indexed or not
        h = lib.health()
        assert h["status"] == "healthy" and h["links_checked"] == ROUNDS
    links = [p for p in (comfy_tree / "models" / "loras").iterdir() if p.is_symlink()]
    assert len(links) == ROUNDS and all(p.exists() for p in links)
    assert _leftovers(root) == []
    for src in contents:
        assert src.exists()  # copy mode: sources untouched


def test_list_in_a_loop_never_breaks_an_import_in_another_process(lib_dirs, tmp_path):
    """Each ``pumas list`` open runs staging recovery; it must leave another process's stage alone."""
    root, state = lib_dirs
    Library.open(root, state).close()
    files = []
    (tmp_path / "big").mkdir()
    for i in range(4):  # 24 MB tensors (sparse zeros): each copy+hash overlaps many list runs
        p = tmp_path / "big" / f"big_{i}.safetensors"
        header = json.dumps({"w": {"dtype": "F32", "shape": [6, 1024, 1024], "data_offsets": [0, 6 * 4 << 20]},
                             "__metadata__": {"n": str(i)}}).encode()
        with open(p, "wb") as f:
            f.write(len(header).to_bytes(8, "little") + header)
            f.truncate(8 + len(header) + (6 * 4 << 20))
        files.append(p)
    stop = tmp_path / "stop"
    lister = subprocess.Popen([sys.executable, str(WORKER), "list", str(root), str(state), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        imp = subprocess.run([sys.executable, "-m", "pumas_core.cli.main", "--library", str(root), "--state",
                              str(state),
                              "--json", "import", *map(str, files), "--no-lookup"],
                             capture_output=True, text=True, env=_env(), timeout=240)
    finally:
        stop.touch()
        out, err = lister.communicate(timeout=120)
    assert imp.returncode == 0, imp.stdout[-2000:] + imp.stderr[-2000:]
    report = json.loads(imp.stdout)
    assert report["failed"] == [] and len(report["imported"]) == 4
    lines = [json.loads(x) for x in out.splitlines() if x.strip()]
    assert not [x for x in lines if "list_failed" in x], lines
    assert lines[-1]["runs"] >= 1
    assert _leftovers(root) == []


def test_four_concurrent_syncs_exit_0_and_converge(lib_dirs, tmp_path, comfy_tree):
    root, state = lib_dirs
    with Library.open(root, state) as lib:
        lib.add_app(comfy_tree)
        srcs = [_model(tmp_path / "m" / f"lora_{i}.safetensors", f"s{i}") for i in range(25)]
        rep = lib.import_paths(srcs, lookup=False)
        assert len(rep["imported"]) == 25
        ids = {m["model_id"] for m in rep["imported"]}
    loras = comfy_tree / "models" / "loras"
    for p in loras.iterdir():
        p.unlink()  # the processes race to create every link
    bdir = tmp_path / "barrier"
    bdir.mkdir()
    rounds = 5
    outs = _run_workers(lambda i: ["sync", str(root), str(state), str(bdir), str(i), "4", str(rounds),
                                   str(comfy_tree / "models")], 4)
    errors = [(o["round"], o["report"]["errors"], o["stderr"]) for w in outs for o in w if o["code"] != 0]
    assert errors == []
    for r in range(rounds):
        created = sum(w[r]["report"]["created"] for w in outs)
        correct = sum(w[r]["report"]["already_correct"] for w in outs)
        assert created + correct == 25 * 4 and created >= 25, (r, created, correct)
    links = sorted(p for p in loras.iterdir() if p.is_symlink())
    assert len(links) == 25 and all(p.exists() for p in links)
    with Library.open(root, state) as lib:
        h = lib.health()
        assert h["status"] == "healthy" and h["links_checked"] == 25
        assert {r["model_id"] for r in lib.registry.all_links()} == ids
