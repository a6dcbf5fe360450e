"""Sidecar reading (hash checks, what prefills what) and the journal file format, on real files."""

from __future__ import annotations

import json
import shutil

from adopt_fixtures import PNG, sha256

from pumas_core.adopt.journal import Journal, State
from pumas_core.adopt.sidecars import find_preview, metadata_patch, preview_name, read_sidecars


def _model(tmp_path, real):
    p = tmp_path / "lora.safetensors"
    shutil.copyfile(real("silero/silero_vad_16k.safetensors"), p)
    return p, sha256(p)


def test_mismatching_civitai_info_is_reported_and_ignored(tmp_path, real):
    p, sha = _model(tmp_path, real)
    (tmp_path / "lora.civitai.info").write_text(json.dumps({
        "id": 1, "modelId": 2, "model": {"name": "Other", "type": "LORA"},
        "files": [{"hashes": {"SHA256": "AB" * 32}}]}))
    found = read_sidecars(str(p), sha)
    assert found["civitai_version"] is None and found["mismatches"]
    assert found["sidecars"]["civitai_info"] == {"file": str(tmp_path / "lora.civitai.info"),
                                                 "sha256_check": "mismatch"}
    patch = metadata_patch({"match_source": "none", "tags": []}, found)
    assert "civitai" not in patch and patch["sidecar_mismatches"]


def test_unhashed_cm_info_keeps_data_without_identity(tmp_path, real):
    p, sha = _model(tmp_path, real)
    (tmp_path / "lora.cm-info.json").write_text(json.dumps({"ModelId": 5, "ModelName": "X"}))
    found = read_sidecars(str(p), sha)
    assert found["sidecars"]["cm_info"]["sha256_check"] == "absent" and found["civitai_version"] is None
    assert metadata_patch({"match_source": "none"}, found)["sidecars"]["cm_info"]["data"]["ModelId"] == 5


def test_manual_identity_is_never_overwritten(tmp_path, real):
    p, sha = _model(tmp_path, real)
    (tmp_path / "lora.civitai.info").write_text(json.dumps({
        "id": 1, "modelId": 2, "model": {"name": "N", "type": "LORA"}, "files": [{"hashes": {"SHA256": sha}}]}))
    patch = metadata_patch({"match_source": "manual", "tags": []}, read_sidecars(str(p), sha))
    assert "civitai" not in patch and "match_source" not in patch and "civitai_info" in patch["sidecars"]


def test_unrelated_json_is_not_a1111_metadata_and_previews_in_order(tmp_path, real):
    p, sha = _model(tmp_path, real)
    (tmp_path / "lora.json").write_text(json.dumps({"_class_name": "UNet2DConditionModel"}))
    assert read_sidecars(str(p), sha)["sidecars"] == {}
    assert find_preview(str(p)) is None
    (tmp_path / "lora.webp").write_bytes(PNG)
    (tmp_path / "lora.preview.png").write_bytes(PNG)
    got = find_preview(str(p))
    assert got.endswith("lora.preview.png") and preview_name(got) == "preview.png"


def test_journal_torn_line_and_latest(tmp_path):
    j = Journal.create(tmp_path, {"groups": []})
    j.write({"type": "intent", "step": "import", "g": 0})
    with open(j.path, "a") as f:
        f.write('{"type": "done", "st')  # a crash while writing the last record
    st = State(j.records())
    assert st.intent("import", 0) and st.result("import", 0) is None
    j = Journal.open(tmp_path, j.journal_id)  # resumed after the crash: new records stay readable
    j.write({"type": "done", "step": "import", "g": 0, "model_id": "m"})
    assert State(j.records()).result("import", 0)["model_id"] == "m"
    j2 = Journal.create(tmp_path, {"groups": []})
    assert Journal.open(tmp_path).journal_id == j2.journal_id > j.journal_id
    assert Journal.open(tmp_path, j.journal_id).path == j.path
