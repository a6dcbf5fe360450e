"""What a path is: turn the paths a user offers into import units (single files, folders, Sharded Sets).

``plan_import(paths)`` inspects the file system only — names, ``stat`` and a few bounded reads of
small JSON manifests (and of a safetensors header for byte-split parts); it never hashes or copies.

Rules (see also :mod:`pumas_core.ingest.shards` for the shard naming schemes):

* A file → one ``single-file`` unit named after the file.  A file that is one shard of a set pulls in
  the whole set from its folder (``sharded-set``); an index JSON named explicitly does the same.  A file
  that is neither a model by extension nor by magic bytes is an error ("not a model file").
* A folder with ``model_index.json`` (diffusers), ``modules.json`` (sentence-transformers) or a
  ``config.json`` object with ``architectures``/``model_type``/``_class_name`` next to weight files
  (transformers, single diffusers component) → one folder unit.  ``kind`` is ``"diffusion-folder"`` for
  all of them (DESIGN.md allows only three kinds); ``manifest`` names the file that made it a folder model.
  A folder unit holds every regular file below it, sorted by relative path with the manifest first.
  Skipped inside folders: directories ``.git``, ``.cache``, ``.huggingface``, ``__pycache__`` and other
  hidden directories, hidden files except ``.gitattributes`` (kept: it is part of a Hugging Face repo
  snapshot and its git blob id lets a lookup match the folder), OS litter (``Thumbs.db``, ``desktop.ini``)
  and unfinished downloads (``*.incomplete``, ``*.crdownload``, ``*.aria2``, ``*.part``; a warning says so).
* Any other folder → walked recursively: each model file, Sharded Set and nested folder model becomes its
  own unit; other files (README, images, text, archives, unfinished downloads, hidden/OS files) go to
  ``skipped`` as ``(path, reason)``.  A folder the user named that holds no model at all is an error.
* Symlinks: a symlink the user names is resolved (``files`` holds the target, ``name`` keeps the link's
  name).  Symlinks met while walking keep their own path (so relative names survive, as in a Hugging Face
  cache snapshot whose files link to ``blobs/``); directory symlinks are followed at most once per real
  directory (device, inode), so link loops end.  Broken links to model files are reported.
* Missing, unreadable and special (FIFO, device) paths go to ``errors`` as ``(path, reason)``; the reason
  is one line and does not repeat the path.  The same file offered twice is planned once.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Concatenate, ParamSpec

from pumas_core.ingest.shards import (
    ShardSet,
    find_sets,
    incomplete_warning,
    is_model_name,
    is_shard_name,
    read_json_manifest,
)
from pumas_core.ingest.skip_reasons import skip_reason as _skip_reason
from pumas_core.ingest.units import ImportPlan, ImportUnit
from pumas_core.vocab import UnitKind

__all__ = ["ImportPlan", "ImportUnit", "plan_import"]

_P = ParamSpec("_P")

SKIP_DIRS = frozenset({".git", ".cache", ".huggingface", "__pycache__", ".ipynb_checkpoints"})
KEEP_HIDDEN = frozenset({".gitattributes"})
LITTER = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})
UNFINISHED = (".incomplete", ".crdownload", ".aria2", ".part", ".download", ".partial")
#: first bytes of the formats Pumas imports (for explicitly named files without a model extension).
_MAGIC = (b"GGUF", b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
_CONFIG_KEYS = ("architectures", "model_type", "_class_name", "_diffusers_version")
_FOLDER_MANIFESTS = ("model_index.json", "modules.json")


def plan_import(paths: list[Path]) -> ImportPlan:
    """Decide what each offered path is.

    Args:
        paths: files and folders (absolute or relative to the current directory).
    Returns:
        :class:`ImportPlan` — units in the order of ``paths`` (folders: sorted walk order), and
        errors ``(path, one-line reason)`` for missing, unreadable, special or non-model paths.
    Never raises for bad input; only programming errors propagate.
    """
    planner = _Planner()
    for p in paths:
        planner.offer(Path(os.path.abspath(os.fspath(p))))
    return planner.plan


def _guarded(fn: Callable[Concatenate[_Planner, Path, _P], None]) -> Callable[Concatenate[_Planner, Path, _P], None]:
    """A bug while planning ``path`` becomes an error for that path, never an aborted import."""
    def run(self: _Planner, path: Path, /, *args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            fn(self, path, *args, **kwargs)
        except Exception as exc:  # any bug: reported as a failed entry
            self._error(path, f"cannot plan the import ({type(exc).__name__}: {str(exc)[:200]})".splitlines()[0])
    return run


def _err_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).splitlines()[0]


def _readable(path: Path) -> str | None:
    """None if ``path`` (a regular file) can be opened for reading, else the reason."""
    try:
        with open(path, "rb"):
            return None
    except OSError as exc:
        return _err_reason(exc)


def _has_model_magic(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    if head.startswith(_MAGIC):
        return True
    # safetensors: 8-byte little-endian header length, then '{'
    return len(head) >= 9 and head[8:9] == b"{" and 0 < int.from_bytes(head[:8], "little") < (100 << 20)


class _Planner:
    def __init__(self) -> None:
        self.plan = ImportPlan()
        self.claimed: set[tuple[int, int]] = set()  # (dev, ino) of files already in a unit
        self.visited: set[tuple[int, int]] = set()  # real directories walked
        self.duplicates = 0

    # ---- bookkeeping -------------------------------------------------------------------------
    def _key(self, path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def _add(self, unit: ImportUnit) -> None:
        keys = [self._key(p) for p in unit.files]
        fresh = [k for k in keys if k is not None and k not in self.claimed]
        if not fresh:
            self.duplicates += 1  # everything already planned (the same file offered twice)
            return
        self.claimed.update(k for k in keys if k is not None)
        self.plan.units.append(unit)

    def _error(self, path: Path, reason: str) -> None:
        self.plan.errors.append((path, reason))

    # ---- entry point -------------------------------------------------------------------------
    @_guarded
    def offer(self, path: Path) -> None:
        try:
            lst = path.lstat()
        except OSError as exc:
            return self._error(path, _err_reason(exc))
        name = path.name or str(path)
        target = path
        if stat.S_ISLNK(lst.st_mode):
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):
                return self._error(path, "broken symbolic link (its target is missing or loops)")
        try:
            st = target.stat()
        except OSError as exc:
            return self._error(path, _err_reason(exc))
        if stat.S_ISDIR(st.st_mode):
            if (st.st_dev, st.st_ino) in self.visited:
                return  # already planned (offered twice, or inside a folder offered before)
            counts = (len(self.plan.units), len(self.plan.errors), self.duplicates)
            self._walk(target, explicit_name=name)
            if counts == (len(self.plan.units), len(self.plan.errors), self.duplicates):
                self._error(path, "folder contains no model files")
        elif stat.S_ISREG(st.st_mode):
            self._offer_file(target, name, path)
        else:
            self._error(path, "not a regular file or folder")

    @_guarded
    def _offer_file(self, target: Path, name: str, given: Path) -> None:
        if self._key(target) in self.claimed:
            self.duplicates += 1
            return  # already part of a planned unit
        if (why := _readable(target)) is not None:
            return self._error(given, why)
        parent = target.parent
        if is_shard_name(name):
            # group in the folder the user sees (a linked shard keeps its siblings' names)
            folder = given.parent
            try:
                names = _regular_names(folder)
            except OSError as exc:
                names = None
                self._error(folder, f"cannot list folder: {_err_reason(exc)}")
            for s in find_sets(folder, names or []):
                if name in s.names:
                    if not s.shards:
                        return self._error(given, _orphan_reason(s))
                    return self._add(_set_unit(s))
        if not is_model_name(name) and not _has_model_magic(target):
            return self._error(given, "not a model file (no model extension or magic bytes)")
        self._add(_single_unit(name, parent, target))

    # ---- folders -----------------------------------------------------------------------------
    @_guarded
    def _walk(self, directory: Path, explicit_name: str | None = None) -> None:
        key = self._key(directory)
        if key is None or key in self.visited:
            return
        self.visited.add(key)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            return self._error(directory, f"cannot list folder: {_err_reason(exc)}")
        unfinished: list[str] = []
        ignored: list[str] = []
        files, dirs = _split_entries(entries, self._error, unfinished, ignored)
        manifest = _folder_manifest(directory, files)
        if manifest is not None:
            return self._add(self._folder_unit(directory, manifest, explicit_name or directory.name))
        self.plan.skipped += [(directory / n, "unfinished download") for n in unfinished]
        self.plan.skipped += [(directory / n, "hidden or system file") for n in ignored]
        names = [e.name for e in files]
        in_sets: set[str] = set()
        for s in find_sets(directory, names):
            in_sets.update(s.names)
            if s.shards:
                self._add(_set_unit(s))
        for e in files:
            if e.name in in_sets:
                continue
            if not is_model_name(e.name):
                self.plan.skipped.append((Path(e.path), _skip_reason(e.name)))
                continue
            path = Path(e.path)
            if (why := _readable(path)) is not None:
                self._error(path, why)
                continue
            self._add(_single_unit(e.name, directory, path))
        for d in dirs:
            self._walk(Path(d.path))

    def _folder_unit(self, root: Path, manifest: str, name: str) -> ImportUnit:
        unit = ImportUnit(UnitKind.DIFFUSION_FOLDER, name, root, [], manifest=manifest)
        files: list[Path] = []
        unfinished: list[str] = []
        seen: set[tuple[int, int]] = set()

        def walk(d: Path) -> None:
            k = self._key(d)
            if k is None or k in seen:
                return
            seen.add(k)
            self.visited.add(k)
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except OSError as exc:
                unit.warnings.append(f"cannot list {d.relative_to(root).as_posix()}/: {_err_reason(exc)}")
                unit.complete = False
                return
            fs, ds = _split_entries(entries, lambda p, why: _broken_into(unit, root, p, why), unfinished)
            names = [e.name for e in fs]
            for s in find_sets(d, names):
                rel = d.relative_to(root)
                for m in s.missing:
                    unit.missing.append((rel / m).as_posix())
                unit.warnings.extend(s.warnings)
                if s.missing:
                    unit.warnings.append(incomplete_warning(s))
            for e in fs:
                files.append(Path(e.path))
            for sub in ds:
                walk(Path(sub.path))

        walk(root)
        weights = sum(1 for p in files if is_model_name(p.name))
        files.sort(key=lambda p: (p.name != manifest or p.parent != root, p.relative_to(root).as_posix()))
        unit.files = files
        if unfinished:
            unit.warnings.append(f"unfinished downloads skipped: {', '.join(unfinished[:5])}")
        if manifest == "model_index.json":
            _check_components(root, unit)
        if weights == 0:
            unit.complete = False
            unit.warnings.append(f"{name}: no weight files found in the folder")
        if unit.missing:
            unit.complete = False
        return unit


ONNX_DATA_SUFFIXES = (".onnx_data", ".onnx.data", ".data")


def _single_unit(name: str, parent: Path, path: Path) -> ImportUnit:
    """A single file, or an ONNX model with its external-data file(s) beside it as one multi-file unit.

    ONNX keeps tensors over 2 GB in a separate file next to the model (``model.onnx`` +
    ``model.onnx_data`` or ``model.onnx.data``; onnx ``external_data_helper``), which the model
    names by relative path, so the two must stay together.
    """
    if name.lower().endswith(".onnx"):
        stem = name[:-5]
        data = [parent / (stem + sfx) for sfx in ONNX_DATA_SUFFIXES if (parent / (stem + sfx)).is_file()]
        data += [parent / (name + sfx) for sfx in (".data",) if (parent / (name + sfx)).is_file()]
        data = sorted(set(data))
        if data:
            return ImportUnit(UnitKind.SHARDED_SET, name, parent, [path, *data], manifest=name)
    return ImportUnit(UnitKind.SINGLE_FILE, name, parent, [path])


def _broken_into(unit: ImportUnit, root: Path, path: Path, why: str) -> None:
    rel = path.relative_to(root).as_posix()
    if is_model_name(path.name):
        unit.missing.append(rel)
        unit.complete = False
    unit.warnings.append(f"{rel}: {why}")


def _split_entries(entries: Iterable[os.DirEntry[str]], on_error: Callable[[Path, str], None],
                   unfinished: list[str] | None = None,
                   ignored: list[str] | None = None) -> tuple[list[os.DirEntry[str]], list[os.DirEntry[str]]]:
    """Sort scandir entries into kept files and walkable dirs; report broken links of model files.
    Names of unfinished downloads go to ``unfinished``, hidden and OS files to ``ignored`` (when given)."""
    files, dirs = [], []
    for e in entries:
        name = e.name
        try:
            is_dir = e.is_dir()
            is_file = e.is_file()
        except OSError:
            is_dir = is_file = False
        if is_dir:
            if name in SKIP_DIRS or name.startswith("."):
                continue
            dirs.append(e)
        elif is_file:
            low = name.lower()
            if (name.startswith(".") and name not in KEEP_HIDDEN) or low in LITTER:
                if ignored is not None:
                    ignored.append(name)
                continue
            if low.endswith(UNFINISHED):
                if unfinished is not None:
                    unfinished.append(name)
                continue
            files.append(e)
        elif e.is_symlink() and is_model_name(name):
            on_error(Path(e.path), "broken symbolic link (its target is missing or loops)")
    return files, dirs


def _regular_names(directory: Path) -> list[str]:
    return [e.name for e in os.scandir(directory) if e.is_file()]


def _orphan_reason(s: ShardSet) -> str:
    if s.missing:
        return f"index names {len(s.missing)} shard files and none is present"
    return "; ".join(s.warnings) or "not a usable shard index"


def _set_unit(s: ShardSet) -> ImportUnit:
    unit = ImportUnit(
        UnitKind.SHARDED_SET, s.set_name, s.directory, [s.directory / n for n in s.names],
        complete=not s.missing, missing=list(s.missing), warnings=list(s.warnings), manifest=s.index,
    )
    if s.missing:
        unit.warnings.append(incomplete_warning(s))
    first, rest = unit.files[0], sorted(unit.files[1:], key=lambda p: p.name)
    unit.files = [first, *rest]
    return unit


def _folder_manifest(directory: Path, files: Iterable[os.DirEntry[str]]) -> str | None:
    names = {e.name for e in files}
    for m in _FOLDER_MANIFESTS:
        if m in names:
            return m
    if "config.json" in names and any(is_model_name(n) for n in names):
        cfg, _err = read_json_manifest(directory / "config.json")
        if cfg is not None and any(k in cfg for k in _CONFIG_KEYS):
            return "config.json"
    return None


def _check_components(root: Path, unit: ImportUnit) -> None:
    """Warn about components listed in ``model_index.json`` whose subfolder is absent."""
    index, err = read_json_manifest(root / "model_index.json")
    if err is not None:
        unit.warnings.append(f"model_index.json unreadable: {err}")
        return
    assert index is not None
    for comp, spec in sorted(index.items()):
        if comp.startswith("_") or not isinstance(spec, list) or len(spec) != 2 or spec[0] is None:
            continue
        if not (root / comp).is_dir():
            unit.warnings.append(f"component folder {comp}/ listed in model_index.json is missing")
