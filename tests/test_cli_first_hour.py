"""CLI of the first hour: 4-digit id prefixes, ambiguous prefixes, skipped files of folder imports
(with reasons, in --json too), readable health lines with the next step, one import-mode help text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import blake3
from st_writer import write_safetensors

from pumas_core.cli import output
from pumas_core.cli.main import build_parser, main
from pumas_core.settings import IMPORT_MODE_HELP

REPO = Path(__file__).resolve().parent.parent


def _cli(capsys, lib_dirs, *args):
    root, state = lib_dirs
    code = main(["--library", str(root), "--state", str(state), "--offline", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _colliding_pair(folder: Path) -> tuple[Path, Path, str]:
    """Two valid safetensors files whose BLAKE3 (= model id) share their first 4 hex digits."""
    seen: dict[str, Path] = {}
    for i in range(5000):
        p = write_safetensors(folder / f"m{i}.safetensors", {"w": ("F16", [4, 4])}, metadata={"n": i})
        prefix = blake3.blake3(p.read_bytes()).hexdigest()[:4]
        if prefix in seen:
            return seen[prefix], p, prefix
        seen[prefix] = p
    raise AssertionError("no 4-digit collision in 5000 files")


def test_show_accepts_four_digit_prefix_and_names_ambiguity(tmp_path, lib_dirs, capsys):
    src = tmp_path / "src"
    a, b, prefix = _colliding_pair(src)
    assert _cli(capsys, lib_dirs, "import", str(a), str(b), "--no-lookup")[0] == 0
    full = blake3.blake3(a.read_bytes()).hexdigest()
    code, out, err = _cli(capsys, lib_dirs, "show", full[:6])
    assert code == 0 and f"blake3:{full}" in out
    code, out, err = _cli(capsys, lib_dirs, "show", prefix)
    assert code == 1 and err.strip().endswith(f"ambiguous: 2 models start with {prefix} (give more digits)")
    code, out, err = _cli(capsys, lib_dirs, "show", full[:3])
    assert code == 1 and "at least 4 hex digits" in err and len(err.strip().splitlines()) == 1


def test_folder_import_lists_skipped_files_with_reasons(tmp_path, lib_dirs, capsys, real):
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(real("silero/silero_vad_16k.safetensors").read_bytes())
    (folder / "notes.txt").write_text("trigger words: none\n")
    (folder / "archive.zip").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    (folder / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    code, out, _ = _cli(capsys, lib_dirs, "--json", "import", str(folder), "--no-lookup")
    report = json.loads(out)
    assert code == 0 and len(report["imported"]) == 1
    not_imported = {Path(e["path"]).name: (e.get("reason") or e.get("error"))
                    for e in report["skipped"] + report["failed"]}
    assert set(not_imported) == {"notes.txt", "archive.zip", "cover.png"}
    assert all(not_imported.values())
    assert "unpack" in not_imported["archive.zip"]
    code, out, _ = _cli(capsys, lib_dirs, "import", str(folder), "--no-lookup")
    assert re.search(r"skipped\s+notes\.txt: text or document", out) or "notes.txt: text or document" in out
    assert out.count("notes.txt") == 1


def test_health_lines_say_what_fixes_each_item():
    h = {"status": "errors", "links_checked": 3,
         "broken_links": [{"link_path": "/c/models/loras/a.safetensors", "reason": "target missing",
                           "repairable": True},
                          {"link_path": "/c/models/vae/b.safetensors", "reason": "model deleted",
                           "fixable_by": "clean"},
                          {"link_path": "/c/models/vae/c.safetensors", "action": "mount /mnt/usb, then pumas repair"}],
         "orphaned_links": [], "ghost_apps": [{"app_id": "x", "root": "/old/ComfyUI", "link_count": 2}],
         "phantom_models": [], "offline_volumes": []}
    text = "\n".join(output.health_lines(h))
    assert "{" not in text   # no raw dicts
    assert "/c/models/loras/a.safetensors — target missing\n    next: `pumas repair` re-creates it" in text
    assert "next: `pumas clean` fixes this" in text
    assert "next: mount /mnt/usb, then pumas repair" in text
    assert "/old/ComfyUI\n    next: `pumas health --fix` forgets the install" in text


def test_repair_lines_list_fixed_and_not_fixed():
    old = output.repair_lines({"repaired": 2, "unrepairable": [{"link_path": "/l/x", "reason": "model gone",
                                                                "repairable": False}],
                               "conflicts": [], "errors": []})
    assert old[0] == "fixed: repaired 2" and "not fixed: 1" in old and "  /l/x — model gone" in old
    new = output.repair_lines({"fixed": [{"link_path": "/l/y", "reason": "re-created"}], "not_fixed": []})
    assert new == ["fixed: 1", "  /l/y — re-created", "not fixed: nothing"]


def test_import_mode_help_is_one_text():
    import_cmd = build_parser()._subparsers._group_actions[0].choices["import"]
    mode = next(a for a in import_cmd._actions if "--mode" in a.option_strings)
    assert mode.help == IMPORT_MODE_HELP and IMPORT_MODE_HELP.startswith("auto = copy")
    js = (REPO / "comfyui_pumas_node/web/js/lib/format.js").read_text()
    assert f'export const IMPORT_MODE_HELP = {json.dumps(IMPORT_MODE_HELP)};' in js
    assert "moves within" not in js and "auto moves" not in (REPO / "README.md").read_text()


def test_sizes_are_binary_units():
    assert output.human_size(5 * 2**30) == "5.0 GiB"
    js = (REPO / "comfyui_pumas_node/web/js/lib/format.js").read_text()
    assert '["B", "KiB", "MiB", "GiB", "TiB"]' in js and '"MB"' not in js
