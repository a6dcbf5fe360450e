"""Hub downloads into the library: fetch into staging, verify against the Hub's LFS SHA-256,
then hand the files to the normal import pipeline (move mode: no second copy).

Downloads land in ``<root>/.staging/downloads/<repo>/`` (not a ``*.tmp`` folder, so an interrupted
download resumes next time instead of being wiped at start).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .errors import BadInputError, NotFoundError, RemoteUnavailableError
from .vocab import WEIGHT_SUFFIXES, MatchSource, Trust, UnitKind

if TYPE_CHECKING:
    from .library.store import ModelStore
    from .lookups import LookupRunner
    from .remote import RemoteLookup

#: A progress callback: gets ``{"stage", "file", "bytes_done", "bytes_total", ...}`` events.
Progress = Callable[[dict[str, Any]], None]

COMPANION_NAMES = {"model_index.json", "config.json", "modules.json", "sentence_bert_config.json"}


@dataclass
class DownloadClients:
    """What a download needs from the library, handed over explicitly (no reaching into the facade).

    ``store``: the :class:`~pumas_core.library.store.ModelStore`; ``lookups``: the
    :class:`~pumas_core.lookups.LookupRunner` (its ``remote`` talks to the Hub; ``apply`` records the
    verified identity through the store); ``import_paths(paths, mode=..., ...) -> report``,
    ``get_model(id) -> dict`` and ``delete_model(id) -> dict`` are the facade's public methods.
    """

    store: ModelStore
    lookups: LookupRunner
    import_paths: Callable[..., Mapping[str, Any]]
    get_model: Callable[[str], dict[str, Any]]
    delete_model: Callable[[str], dict[str, Any]]

    @property
    def root(self) -> Path:
        """The library folder."""
        return self.store.root


def download_dir(root: Path, repo_id: str) -> Path:
    """``<root>/.staging/downloads/<owner>__<name>/`` (created)."""
    d = Path(root) / ".staging" / "downloads" / repo_id.replace("/", "__")
    d.mkdir(parents=True, exist_ok=True)
    return d


def choose_files(repo: dict[str, Any], wanted: list[str]) -> list[str]:
    """The repo files to fetch: ``wanted`` (checked to exist), else every weight file plus index/manifest files.

    Raises:
        NotFoundError: a named file is not in the repo.
        BadInputError: the repo has no model weights.
    """
    paths = [f["path"] for f in repo["files"]]
    if wanted:
        missing = [w for w in wanted if w not in paths]
        if missing:
            raise NotFoundError(f"{repo['id']}: no file {', '.join(missing)}")
        return list(wanted)
    weights = [p for p in paths if PurePosixPath(p).suffix.lower() in WEIGHT_SUFFIXES]
    if not weights:
        raise BadInputError(f"{repo['id']}: no model weights in this repository")
    extra = [p for p in paths if p.endswith(".index.json") or PurePosixPath(p).name in COMPANION_NAMES]
    return sorted(set(weights) | set(extra))


def _record_identity(lib: DownloadClients, remote: RemoteLookup, repo: dict[str, Any], report: dict[str, Any],
                     repo_path_by_local: dict[str, str]) -> None:
    """Downloaded files were verified against the Hub's SHA-256: record that identity (verified)."""
    from .remote import LookupResult

    for i, model in enumerate(report["imported"]):
        path = repo_path_by_local.get(model.get("import_source", ""))
        if path is None:  # a set or folder: name the repo, not one file
            path = PurePosixPath(next(iter(repo_path_by_local.values()))).parent.as_posix()
        result = LookupResult(match_source=MatchSource.HASH, trust=Trust.VERIFIED,
                              huggingface=remote.hf.describe(repo, path))
        lib.lookups.apply(model["model_id"], result)
        report["imported"][i] = lib.get_model(model["model_id"])


def download(lib: DownloadClients, repo_id: str, files: list[str], *, revision: str | None = None,
             accept_pickle: bool = False, progress: Progress | None = None) -> dict[str, Any]:
    """Download ``files`` (default: the repo's weights) of ``repo_id`` and import them.

    Returns the import report shape plus ``downloaded`` (repo paths).  Raises
    :class:`NotFoundError` for an unknown repo/file, ``RemoteUnavailableError`` when the Hub
    cannot be reached, :class:`~pumas_core.errors.CorruptFileError` on a hash mismatch.
    """
    from .remote.resilience import HostUnavailable

    remote = lib.lookups.remote
    try:
        repo = remote.hf.repo(repo_id, max_wait=5.0)
    except HostUnavailable as exc:
        raise RemoteUnavailableError(f"{repo_id}: Hub unavailable ({exc})") from None
    if repo is None:
        raise NotFoundError(f"{repo_id}: no such repository on {remote.hf_endpoint}")
    dest = download_dir(lib.root, repo_id)
    chosen = choose_files(repo, files)
    local = [download_from_hub_verified(repo["id"], f, dest, revision or repo.get("sha"), remote, progress)
             for f in chosen]
    report = dict(lib.import_paths(local, mode="move", accept_pickle=accept_pickle, progress=progress, lookup=False))
    report["downloaded"] = chosen
    _record_identity(lib, remote, repo, report, {str(p): f for p, f in zip(local, chosen, strict=True)})
    if not report["failed"]:
        shutil.rmtree(dest, ignore_errors=True)
    return report


def download_missing(lib: DownloadClients, model_id: str, *, progress: Progress | None = None) -> dict[str, Any]:
    """Complete an incomplete Sharded Set from its matched HuggingFace repo.

    The missing shards are downloaded and verified, the set is re-assembled in staging (the
    present shards hard-linked, not copied) and imported as one new, complete model; the old
    incomplete model is then deleted (its links first).  Returns the import report plus
    ``replaced`` (the old model id).

    Raises:
        BadInputError: the model is complete, not a set, or has no HuggingFace match.
    """
    from .ingest.staging import discard_stage, new_stage

    model = lib.get_model(model_id)
    missing = model.get("missing_files") or []
    if model["format"] != UnitKind.SHARDED_SET or model.get("complete", True) or not missing:
        raise BadInputError(f"{model['official_name']}: not an incomplete Sharded Set")
    hub = model.get("huggingface") or {}
    if not hub.get("repo_id"):
        raise BadInputError(f"{model['official_name']}: no HuggingFace match to download the missing shards from "
                            "(run a lookup, or download with `pumas download REPO FILE`)")
    prefix = PurePosixPath(hub.get("path") or "").parent.as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    remote = lib.lookups.remote
    dest = download_dir(lib.root, hub["repo_id"])
    fetched = [download_from_hub_verified(hub["repo_id"], prefix + name, dest, hub.get("revision"), remote,
                                          progress) for name in missing]
    stage = new_stage(lib.root)
    try:  # the staging entry (and its owner lock) goes away whatever fails while it is assembled
        assembled = stage / model["cleaned_name"]
        assembled.mkdir()
        for f in model["files"]:
            target = assembled / f["name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(Path(model["path"]) / f["name"], target)
        for name, path in zip(missing, fetched, strict=True):
            os.replace(path, assembled / name)
        report = dict(lib.import_paths([assembled], mode="move", progress=progress))
    finally:
        discard_stage(stage, lib.root)
    new = report["imported"][0] if report["imported"] else None
    if new is not None and new.get("complete", True):
        lib.delete_model(model["model_id"])
        report["replaced"] = model["model_id"]
    return report


def download_from_hub_verified(repo_id: str, path: str, dest: Path, revision: str | None, remote: RemoteLookup,
                               progress: Progress | None) -> Path:
    """One verified file from the Hub (see :func:`pumas_core.remote.download_from_hub`), from ``remote``'s endpoint.

    Raises:
        NotFoundError, CorruptFileError, RemoteUnavailableError: as ``download_from_hub``.
    """
    from .remote import download_from_hub

    return download_from_hub(repo_id, path, dest, revision=revision, endpoint=remote.hf_endpoint, progress=progress)
