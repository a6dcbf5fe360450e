"""pickle_scan against picklescan's own samples (expected.json) and real torch pickles."""

from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import pickle_sample
from realdata import PICKLE_SAMPLES

from pumas_core.errors import NotFoundError
from pumas_core.security.pickle_scan import scan_pickle


def _expected() -> dict:
    p = PICKLE_SAMPLES / "expected.json"
    return json.loads(p.read_text()) if p.exists() else {}


@pytest.mark.parametrize("name", sorted(_expected()) or ["malicious1_v3.pkl"])
def test_samples_match_expected(name, pickles):
    path = pickles(name)
    want = _expected()[name]
    scan = scan_pickle(path)
    if name.endswith(".7z") and importlib.util.find_spec("py7zr") is None:
        assert scan.error and "py7zr" in scan.error and name in scan.error
        return
    assert sorted(scan.dangerous) == sorted(want["dangerous_globals"])
    if want["scan_error"]:
        assert scan.error is not None and name in scan.error
    elif name == "benign_password_protected.zip":
        # picklescan scans nothing inside the encrypted zip; we refuse to call that clean
        assert scan.scanned_files == 0 and "no pickle could be scanned" in scan.error
    else:
        assert scan.error is None
    assert scan.clean is (not want["dangerous_globals"] and scan.error is None)


def test_malicious_payload_is_dangerous(pickles):
    scan = scan_pickle(pickles("malicious1_v3.pkl"))
    assert scan.dangerous == ["builtins.eval"] and not scan.clean


def test_torch_zip_is_innocuous(pickles):
    scan = scan_pickle(pickles("new_pytorch_model.bin"))
    assert scan.clean and scan.dangerous == [] and scan.suspicious == []
    assert "torch._utils._rebuild_tensor_v2" in scan.innocuous


@pytest.mark.parametrize("name", ["onet.pt", "pnet.pt", "rnet.pt"])
def test_facenet_legacy_pickles_clean(real, name):
    scan = scan_pickle(real(f"facenet/{name}"))
    assert scan.clean and not scan.suspicious
    assert set(scan.innocuous) == {"collections.OrderedDict", "torch.FloatStorage", "torch._utils._rebuild_tensor_v2"}


@pytest.mark.parametrize("name", ["alex.pth", "squeeze.pth", "vgg.pth"])
def test_lpips_v00_is_suspicious_not_dangerous(real, name):
    scan = scan_pickle(real(f"lpips/v0.0/{name}"))
    assert scan.dangerous == [] and scan.error is None
    assert scan.suspicious == ["torch._utils._rebuild_tensor"]
    v01 = scan_pickle(real(f"lpips/v0.1/{name}"))
    assert v01.suspicious == [] and "torch._utils._rebuild_tensor_v2" in v01.innocuous


def test_torchscript_jit_suspicious_torch_classes(real):
    scan = scan_pickle(real("silero/silero_vad.jit"))
    assert scan.dangerous == [] and scan.error is None and scan.scanned_files > 1
    assert any(s.startswith("__torch__.") for s in scan.suspicious)


def test_missing_file(tmp_path):
    with pytest.raises(NotFoundError, match="no such file"):
        scan_pickle(tmp_path / "nope.pkl")


def test_sample_helper_reachable():
    assert pickle_sample("malicious1_v3.pkl").name == "malicious1_v3.pkl"
