"""Link sync on real files and real symlinks in a temporary ComfyUI tree."""

from __future__ import annotations

import os

import pytest
from test_links_helpers import make_model, mid, setup

from pumas_core.errors import BadInputError, NotFoundError
from pumas_core.links import LinkableModel, sync_app


def ck(comfy, name):
    return comfy / "models" / "checkpoints" / name


def test_relative_link_resolves_to_library_file(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "dream", link_name="Dream Shaper v8.safetensors")
    rep = sync_app(reg, app, [m], library_root=lib)
    assert rep.created == 1 and not rep.errors and not rep.conflicts
    link = ck(comfy_tree, "Dream Shaper v8.safetensors")
    assert link.is_symlink()
    text = os.readlink(link)
    assert not os.path.isabs(text)
    assert text == os.path.relpath(m.model_dir / m.files[0], link.parent)
    assert link.resolve() == (m.model_dir / m.files[0]).resolve()
    assert link.read_bytes() == (m.model_dir / m.files[0]).read_bytes()
    row = reg.get_link(str(link))
    assert row["model_id"] == m.model_id and row["app_id"] == app["app_id"] and row["kind"] == "file"
    assert row["folder_key"] == "checkpoints"


def test_real_safetensors_linked_as_text_encoder(tmp_path, comfy_tree, real):
    reg, app, lib = setup(tmp_path, comfy_tree)
    data = real("minilm/model.safetensors").read_bytes()
    m = make_model(lib, "minilm", model_type="text_encoder", content=data, link_name="all-MiniLM-L6-v2.safetensors")
    sync_app(reg, app, [m], library_root=lib)
    link = comfy_tree / "models" / "text_encoders" / "all-MiniLM-L6-v2.safetensors"
    assert link.read_bytes()[:8] == data[:8] and link.stat().st_size == len(data)


def test_second_sync_changes_nothing(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    models = [make_model(lib, f"m{i}", model_type=t) for i, t in enumerate(["checkpoint", "lora", "vae"])]
    first = sync_app(reg, app, models, library_root=lib)
    assert first.created == 3
    before = {str(p): os.lstat(p).st_ino for p in (comfy_tree / "models").rglob("*") if p.is_symlink()}
    second = sync_app(reg, app, models, library_root=lib).to_dict()
    assert second["created"] == 0 and second["already_correct"] == 3
    assert second["removed_broken"] == second["removed_stale"] == 0 and second["conflicts"] == []
    after = {str(p): os.lstat(p).st_ino for p in (comfy_tree / "models").rglob("*") if p.is_symlink()}
    assert before == after


def test_real_file_in_the_way_is_a_conflict_and_untouched(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "x", link_name="x.safetensors")
    user = ck(comfy_tree, "x.safetensors")
    user.write_bytes(b"user's own file")
    rep = sync_app(reg, app, [m], library_root=lib)
    assert rep.created == 0
    assert [(c["link_path"], c["reason"], c["message"], c["model_id"]) for c in rep.conflicts] == [
        (str(user), "file_exists", "a real file is in the way", m.model_id)]
    assert not user.is_symlink() and user.read_bytes() == b"user's own file"
    assert reg.get_link(str(user)) is None


def test_backup_resolution_keeps_the_users_file(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "x", link_name="x.safetensors")
    user = ck(comfy_tree, "x.safetensors")
    user.write_bytes(b"mine")
    preview = sync_app(reg, app, [m], library_root=lib, dry_run=True, resolutions={str(user): "backup"})
    assert preview.planned[0]["action"] == "backup" and not user.is_symlink()
    rep = sync_app(reg, app, [m], library_root=lib, resolutions={str(user): "backup"})
    assert rep.created == 1 and rep.conflicts == []
    assert user.is_symlink()
    saved = ck(comfy_tree, "x.safetensors.pumas-backup")
    assert saved.read_bytes() == b"mine" and rep.backed_up[0]["backup_path"] == str(saved)


def test_skip_resolution_and_bad_resolution(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "x", link_name="x.safetensors")
    user = ck(comfy_tree, "x.safetensors")
    user.write_bytes(b"mine")
    rep = sync_app(reg, app, [m], library_root=lib, resolutions={str(user): "skip"})
    assert rep.skipped == 1 and rep.conflicts == [] and user.read_bytes() == b"mine"
    with pytest.raises(BadInputError, match="unknown resolution"):
        sync_app(reg, app, [m], library_root=lib, resolutions={str(user): "overwrite"})


def test_foreign_symlink_is_a_conflict(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "x", link_name="x.safetensors")
    elsewhere = tmp_path / "elsewhere.safetensors"
    elsewhere.write_bytes(b"e")
    os.symlink(elsewhere, ck(comfy_tree, "x.safetensors"))
    rep = sync_app(reg, app, [m], library_root=lib)
    assert rep.conflicts and rep.conflicts[0]["reason"] == "linked_to_different_source"
    assert "another symlink" in rep.conflicts[0]["message"]
    assert os.readlink(ck(comfy_tree, "x.safetensors")) == str(elsewhere)


def test_own_broken_links_removed_foreign_untouched(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    a, b = make_model(lib, "a"), make_model(lib, "b")
    sync_app(reg, app, [a, b], library_root=lib)
    # b disappears from the library (files and index) -> its link dangles
    for f in b.model_dir.iterdir():
        f.unlink()
    b.model_dir.rmdir()
    # a dangling link into the library that the registry does not know (ours by target)
    os.symlink(os.path.relpath(lib / "gone" / "g.safetensors", ck(comfy_tree, "")), ck(comfy_tree, "g.safetensors"))
    # a foreign dangling symlink pointing outside the library
    os.symlink(tmp_path / "nowhere.safetensors", ck(comfy_tree, "foreign.safetensors"))
    rep = sync_app(reg, app, [a], library_root=lib)
    assert rep.removed_broken == 2 and rep.already_correct == 1
    assert not os.path.lexists(ck(comfy_tree, "b.safetensors"))
    assert not os.path.lexists(ck(comfy_tree, "g.safetensors"))
    assert os.path.islink(ck(comfy_tree, "foreign.safetensors"))
    assert reg.get_link(str(ck(comfy_tree, "b.safetensors"))) is None


def test_dangling_links_kept_while_library_offline(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    a = make_model(lib, "a")
    sync_app(reg, app, [a], library_root=lib)
    lib.rename(tmp_path / "unplugged")
    rep = sync_app(reg, app, [], library_root=lib)
    assert rep.removed_broken == 0 and os.path.islink(ck(comfy_tree, "a.safetensors"))


def test_name_collision_gets_deterministic_suffix(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    one = make_model(lib, "one", files=("model.safetensors",), seed="one")
    two = make_model(lib, "two", files=("model.safetensors",), seed="two")
    first, second = sorted([one, two], key=lambda m: m.model_id)
    rep = sync_app(reg, app, [two, one], library_root=lib)
    assert rep.created == 2
    plain = ck(comfy_tree, "model.safetensors")
    other = ck(comfy_tree, f"model-{second.model_id[:8]}.safetensors")
    assert plain.resolve() == (first.model_dir / "model.safetensors").resolve()
    assert other.resolve() == (second.model_dir / "model.safetensors").resolve()
    again = sync_app(reg, app, [one, two], library_root=lib)
    assert again.created == 0 and again.already_correct == 2
    # a third model with the same name: existing owners keep their names
    third = make_model(lib, "three", files=("model.safetensors",), seed="0three")
    rep3 = sync_app(reg, app, [one, two, third], library_root=lib)
    assert rep3.created == 1 and plain.resolve() == (first.model_dir / "model.safetensors").resolve()
    assert ck(comfy_tree, f"model-{third.model_id[:8]}.safetensors").is_symlink()


def test_unmapped_listed_with_reason(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    u = make_model(lib, "mystery", model_type="unknown")
    llm = make_model(lib, "llama", model_type="llm", files=("llama.gguf",))
    rep = sync_app(reg, app, [u, llm], library_root=lib)
    reasons = {x["model_id"]: x["reason"] for x in rep.unmapped}
    assert set(reasons) == {u.model_id, llm.model_id}
    assert "null" in reasons[u.model_id] and "'LLM'" in reasons[llm.model_id]
    assert rep.created == 0
    (comfy_tree / "models" / "LLM").mkdir()
    from pumas_core.links.apps import register_app
    app = register_app(reg, comfy_tree)
    rep = sync_app(reg, app, [u, llm], library_root=lib)
    assert rep.created == 1 and (comfy_tree / "models" / "LLM" / "llama.gguf").is_symlink()


def test_diffusers_folder_is_a_directory_link(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    files = ("model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors", "vae/config.json")
    m = make_model(lib, "sd-turbo", model_type="checkpoint", fmt="diffusion-folder", files=files, link_name="sd-turbo")
    rep = sync_app(reg, app, [m], library_root=lib)
    link = comfy_tree / "models" / "diffusers" / "sd-turbo"
    assert rep.created == 1 and link.is_symlink() and link.is_dir()
    assert (link / "unet" / "diffusion_pytorch_model.safetensors").read_bytes() == (m.model_dir / files[2]).read_bytes()
    assert reg.get_link(str(link))["kind"] == "dir"


def test_sharded_set_links_each_shard_and_index(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    files = ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json")
    a = make_model(lib, "flux", model_type="diffusion_model", fmt="sharded-set", files=files, link_name="flux",
                   seed="a")
    b = make_model(lib, "other", model_type="diffusion_model", fmt="sharded-set", files=files, link_name="other",
                   seed="b")
    rep = sync_app(reg, app, [a, b], library_root=lib)
    assert rep.created == 6 and not rep.errors
    dm = comfy_tree / "models" / "diffusion_models"
    first, second = sorted([a, b], key=lambda m: m.model_id)
    for f in files:  # the lower model_id keeps the plain names; the other set moves into a sub-folder
        assert (dm / f).resolve() == (first.model_dir / f).resolve()
        sub = f"{second.link_name}-{second.model_id[:8]}"
        assert (dm / sub / f).resolve() == (second.model_dir / f).resolve()
    assert sync_app(reg, app, [b, a], library_root=lib).already_correct == 6


def test_incremental_sync_touches_only_new_models(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    a, b = make_model(lib, "a"), make_model(lib, "b", model_type="lora")
    sync_app(reg, app, [a], library_root=lib)
    rep = sync_app(reg, app, [a, b], library_root=lib, only_model_ids=[b.model_id])
    assert rep.created == 1 and rep.already_correct == 0
    assert len(reg.links_for_app(app["app_id"])) == 2


def test_retyped_model_link_moves(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    a = make_model(lib, "a")
    sync_app(reg, app, [a], library_root=lib)
    lora = LinkableModel(a.model_id, "lora", a.kind, a.model_dir, a.files, a.link_name)
    rep = sync_app(reg, app, [lora], library_root=lib)
    assert rep.removed_stale == 1 and rep.created == 1
    assert not os.path.lexists(ck(comfy_tree, "a.safetensors"))
    assert (comfy_tree / "models" / "loras" / "a.safetensors").is_symlink()


def test_hostile_and_unicode_link_names(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    models = [
        make_model(lib, "u", link_name="Ünïcødé 日本語 モデル.safetensors", seed="u"),
        make_model(lib, "h", link_name='bad:name?<>|"*.safetensors', seed="h"),
        make_model(lib, "t", link_name="../../../escape.safetensors", seed="t"),
        make_model(lib, "r", link_name="CON.safetensors", seed="r"),
        make_model(lib, "d", link_name="trailing. ", seed="d"),
    ]
    rep = sync_app(reg, app, models, library_root=lib)
    assert rep.created == 5 and not rep.errors
    names = sorted(p.name for p in (comfy_tree / "models" / "checkpoints").iterdir())
    assert names == sorted(["Ünïcødé 日本語 モデル.safetensors", "bad_name______.safetensors",
                            ".._.._.._escape.safetensors", "_CON.safetensors", "trailing"])
    assert not (tmp_path / "escape.safetensors").exists()
    dots = make_model(lib, "dots", link_name="...", seed="z")
    rep = sync_app(reg, app, [dots], library_root=lib, only_model_ids=[dots.model_id])
    assert rep.errors and "only dots" in rep.errors[0]["error"]


def test_symlink_refused_falls_back_to_a_hard_link(tmp_path, comfy_tree, monkeypatch):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "x")

    def refuse(*a, **k):
        raise OSError(1, "Operation not permitted")
    monkeypatch.setattr(os, "symlink", refuse)
    rep = sync_app(reg, app, [m], library_root=lib)
    link = ck(comfy_tree, "x.safetensors")
    assert rep.created == 1 and not rep.errors and any("hard links" in w for w in rep.warnings)
    assert not link.is_symlink() and os.path.samefile(link, m.model_dir / m.files[0])
    assert reg.get_link(str(link))["strategy"] == "hardlink"
    again = sync_app(reg, app, [m], library_root=lib, force=True)
    assert again.already_correct == 1 and again.created == 0 and not again.conflicts
    from pumas_core.links.mapping import Mapping
    from pumas_core.links.rules import parse_rules

    never = Mapping(rules=tuple(parse_rules([{"folder": None}], "test", rank=4, source="test")))
    gone = sync_app(reg, app, [m], library_root=lib, force=True, mapping=never)  # no rule wants it: our hard link goes
    assert gone.removed_stale == 1 and not os.path.lexists(link) and (m.model_dir / m.files[0]).exists()


def test_symlink_refused_for_a_folder_is_a_clear_error(tmp_path, comfy_tree, monkeypatch):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "sd-turbo", model_type="diffusion_model", fmt="diffusion-folder",
                   files=("model_index.json", "unet/diffusion_pytorch_model.safetensors"), link_name="sd-turbo")

    def refuse(*a, **k):
        raise OSError(1, "Operation not permitted")
    monkeypatch.setattr(os, "symlink", refuse)
    rep = sync_app(reg, app, [m], library_root=lib)
    assert rep.created == 0 and len(rep.errors) == 1
    assert "does not allow symlinks" in rep.errors[0]["error"] and "no copy" in rep.errors[0]["error"]
    assert not os.path.lexists(comfy_tree / "models" / "diffusers" / "sd-turbo")
    assert reg.links_for_app(app["app_id"]) == []


def test_missing_models_folder_and_unknown_app(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    with pytest.raises(NotFoundError):
        sync_app(reg, "nope", [], library_root=lib)
    os.rename(comfy_tree / "models", tmp_path / "moved-models")
    with pytest.raises(NotFoundError, match="models folder"):
        sync_app(reg, app, [], library_root=lib)


def test_dry_run_changes_nothing(tmp_path, comfy_tree):
    reg, app, lib = setup(tmp_path, comfy_tree)
    m = make_model(lib, "x")
    rep = sync_app(reg, app, [m], library_root=lib, dry_run=True).to_dict()
    assert rep["created"] == 1 and rep["planned"][0]["action"] == "create"
    assert not os.path.lexists(ck(comfy_tree, "x.safetensors")) and reg.all_links() == []
    assert mid("x") == m.model_id
