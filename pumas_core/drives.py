"""Drive-aware I/O: what kind of device a path lives on, and how many readers it should get.

Classification (``seeds/01-performance-and-integrity.md``, drive-aware I/O): the mount holding a path
is found with :func:`psutil.disk_partitions`; network file systems (NFS, SMB/CIFS, sshfs and other
FUSE network mounts) are ``network``; for a block device, ``/sys/class/block/<dev>/queue/rotational``
says ``hdd`` (1) or solid state (0: ``nvme`` when the device name starts with ``nvme``, else
``ssd``; a virtio/Xen disk (``vd*``, ``xvd*``) claiming rotational is ``unknown``, since VM disks
report 1 by default).  Partitions, device-mapper and loop devices are followed to the disk behind them through
``/sys/class/block/<dev>/slaves`` and the parent device.  Anything else is ``unknown`` (treated
like an SSD).

Plan: one sequential stream per spinning disk (never two readers on one HDD: seeks would halve
throughput), up to :data:`SSD_WORKERS` parallel workers on SSD/NVMe, :data:`NETWORK_WORKERS` on a
network share.  The user can force a kind in settings (``"drive_kind": {"<mount>": "hdd"}``).
"""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

T = TypeVar("T")

KINDS = ("nvme", "ssd", "hdd", "network", "unknown")
SSD_WORKERS = 4
NETWORK_WORKERS = 2
NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "sshfs", "fuse.sshfs", "9p", "afs", "ceph",
              "glusterfs", "fuse.glusterfs", "davfs", "fuse.rclone", "fuse.s3fs", "virtiofs"}
MEMORY_FS = {"tmpfs", "ramfs"}
SYS_BLOCK = Path("/sys/class/block")


@dataclass(frozen=True)
class Drive:
    """``mount`` (mount point), ``device`` (e.g. ``/dev/nvme0n1p2``), ``fstype``, ``kind`` (:data:`KINDS`)."""

    mount: str
    device: str
    fstype: str
    kind: str

    @property
    def workers(self) -> int:
        """Parallel readers this drive should get (1 for a spinning disk)."""
        return {"hdd": 1, "network": NETWORK_WORKERS}.get(self.kind, SSD_WORKERS)


def _partitions() -> list[Any]:
    """Mounted partitions, longest mount point first (``psutil`` ``sdiskpart`` tuples)."""
    import psutil

    try:
        return sorted(psutil.disk_partitions(all=True), key=lambda p: len(p.mountpoint), reverse=True)
    except OSError:
        return []


def _rotational(dev_name: str, sys_block: Path = SYS_BLOCK) -> bool | None:
    """Follow partitions / dm / md / loop to a disk and read its ``queue/rotational`` (bounded walk)."""
    seen: set[str] = set()
    todo = [dev_name]
    while todo and len(seen) < 32:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        node = sys_block / name
        rot = node / "queue" / "rotational"
        if rot.exists():
            try:
                return rot.read_text().strip() == "1"
            except OSError:
                return None
        with contextlib.suppress(OSError):
            todo += sorted(os.listdir(node / "slaves"))
        try:
            parent = (node.resolve()).parent.name  # a partition's sysfs node sits inside its disk's
            if parent and parent != "block":
                todo.append(parent)
        except OSError:
            pass
        backing = node / "loop" / "backing_file"
        if backing.exists():
            return None  # a loop file: the kind of the file's own drive is unknown here
    return None


def classify_device(device: str, fstype: str, sys_block: Path = SYS_BLOCK) -> str:
    """The :data:`KINDS` value for a mounted ``device`` of ``fstype`` (see module docstring)."""
    if fstype.lower() in NETWORK_FS or device.startswith("//") or (":" in device and not device.startswith("/")):
        return "network"
    if fstype.lower() in MEMORY_FS:
        return "ssd"  # RAM-backed: no seeks, parallel reads are fine
    if not device.startswith("/dev/"):
        return "unknown"
    try:
        name = os.path.basename(os.path.realpath(device))
    except OSError:
        return "unknown"
    rot = _rotational(name, sys_block)
    if rot is None:
        return "unknown"
    if rot:
        # virtio/Xen block devices report rotational=1 unless the host says otherwise; cloud and VM
        # disks are nearly always SSD-backed, so the flag is not evidence of a spinning disk there
        return "unknown" if name.startswith(("vd", "xvd")) else "hdd"
    return "nvme" if name.startswith("nvme") else "ssd"


def drive_of(path: str | os.PathLike[str], overrides: dict[str, str] | None = None,
             partitions: list[Any] | None = None) -> Drive:
    """The drive holding ``path`` (nearest existing ancestor); ``overrides``: ``{mount: kind}`` from settings;
    ``partitions``: the mount table when the caller already read it (:func:`group_by_drive`)."""
    p = os.path.realpath(os.path.abspath(path))
    for part in _partitions() if partitions is None else partitions:
        mp = part.mountpoint
        if p == mp or p.startswith(mp.rstrip(os.sep) + os.sep):
            kind = (overrides or {}).get(mp) or classify_device(part.device, part.fstype)
            return Drive(mp, part.device, part.fstype, kind if kind in KINDS else "unknown")
    return Drive(os.sep, "", "", (overrides or {}).get(os.sep, "unknown"))


def group_by_drive(items: Iterable[T], path_of: Callable[[T], str | os.PathLike[str]],
                   overrides: dict[str, str] | None = None) -> list[tuple[Drive, list[T]]]:
    """Group ``items`` by the drive ``path_of(item)`` is read from: ``[(drive, [items in the given order])]``.

    The caller runs the groups side by side (different drives do not compete) and each group with
    ``drive.workers`` workers.  Never raises for a path that does not exist (it goes to its ancestor's drive).
    The mount table is read once per call and each device (``st_dev``) is classified once, so grouping
    thousands of items costs one ``stat`` each.
    """
    groups: dict[str, list[T]] = defaultdict(list)
    drives: dict[str, Drive] = {}
    table = _partitions()
    by_dev: dict[int, Drive] = {}
    for item in items:
        path = path_of(item)
        try:
            dev: int | None = os.stat(path).st_dev
        except OSError:
            dev = None  # not there (yet): its nearest existing ancestor decides
        d = by_dev.get(dev) if dev is not None else None
        if d is None:
            d = drive_of(path, overrides, table)
            if dev is not None:
                by_dev[dev] = d
        key = d.device or d.mount
        drives.setdefault(key, d)
        groups[key].append(item)
    return [(drives[k], groups[k]) for k in groups]


def plan_reads(paths: Iterable[str | os.PathLike[str]],
               overrides: dict[str, str] | None = None) -> list[tuple[Drive, list[str]]]:
    """:func:`group_by_drive` for plain paths: ``[(drive, [paths as str])]``."""
    return group_by_drive([str(p) for p in paths], lambda p: p, overrides)


def config_overrides(state_dir: str | os.PathLike[str]) -> dict[str, str] | None:
    """The user's ``"drive_kind": {"<mount point>": "<kind>"}`` from ``<state_dir>/config.json``
    (None when absent or not an object; entries whose kind is not in :data:`KINDS` are dropped)."""
    from .config import load_config

    value = load_config(Path(state_dir)).get("drive_kind")
    if not isinstance(value, dict):
        return None
    return {str(k): str(v) for k, v in value.items() if v in KINDS}
