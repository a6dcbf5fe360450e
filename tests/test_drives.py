"""Drive classification from a real sysfs-shaped tree and real mounts; the read plan."""

from __future__ import annotations

import os
import subprocess

import pytest

from pumas_core.drives import classify_device, drive_of, plan_reads


def sysfs(tmp_path, disks):
    """Build ``block/<disk>/queue/rotational`` (+ partitions inside their disk, + dm slaves)."""
    root = tmp_path / "block"
    devs = tmp_path / "devices"
    for disk, (rot, parts) in disks.items():
        d = devs / disk
        (d / "queue").mkdir(parents=True)
        (d / "queue" / "rotational").write_text(f"{rot}\n")
        root.mkdir(exist_ok=True)
        os.symlink(d, root / disk)
        for p in parts:
            (d / p).mkdir()
            os.symlink(d / p, root / p)
    return root


def test_classify_hdd_ssd_nvme_partitions_and_dm(tmp_path):
    root = sysfs(tmp_path, {"sda": (1, ["sda1"]), "sdb": (0, ["sdb2"]), "nvme0n1": (0, ["nvme0n1p3"])})
    dm = tmp_path / "devices" / "dm-0"
    (dm / "slaves").mkdir(parents=True)
    (dm / "slaves" / "sda1").mkdir()
    os.symlink(dm, root / "dm-0")
    dev = tmp_path / "dev"
    dev.mkdir()
    for n in ("sda1", "sdb2", "nvme0n1p3", "dm-0"):
        (dev / n).touch()
    cls = lambda n: classify_device(f"/dev/{n}", "ext4", root)  # noqa: E731
    assert cls("sda1") == "hdd" and cls("sdb2") == "ssd" and cls("nvme0n1p3") == "nvme"
    assert cls("dm-0") == "hdd"  # LVM/LUKS over a spinning disk
    assert classify_device("//nas/models", "cifs") == "network"
    assert classify_device("server:/export", "nfs4") == "network"
    assert classify_device("tmpfs", "tmpfs") == "ssd"
    assert classify_device("/dev/nonexistent9", "ext4", root) == "unknown"


def test_plan_groups_by_drive_with_one_stream_per_hdd(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for p in (a, b):
        p.write_bytes(b"x")
    groups = plan_reads([a, b, tmp_path / "not-there-yet"])
    assert len(groups) == 1 and len(groups[0][1]) == 3
    d = groups[0][0]
    assert d.workers == (1 if d.kind == "hdd" else 2 if d.kind == "network" else 4)
    assert drive_of(tmp_path, {d.mount: "hdd"}).workers == 1  # a user override wins


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="needs root to mount tmpfs (CI runs as root)")
def test_real_tmpfs_mount_is_its_own_drive(tmp_path):
    m = tmp_path / "ram"
    m.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(m)]).returncode:
        pytest.skip("cannot mount tmpfs")
    try:
        (m / "f").write_bytes(b"1")
        d = drive_of(m / "f")
        assert d.mount == str(m) and d.fstype == "tmpfs" and d.kind == "ssd"
        assert len(plan_reads([m / "f", tmp_path])) == 2
    finally:
        subprocess.run(["umount", "-l", str(m)])


def test_virtual_disk_claiming_rotational_is_unknown(tmp_path):
    root = sysfs(tmp_path, {"vda": (1, ["vda1"])})
    assert classify_device("/dev/vda1", "ext4", root) == "unknown"
