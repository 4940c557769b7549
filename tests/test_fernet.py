"""FERNet's ``standardize`` option: per-face standardization makes the output blind to global exposure and
contrast (x -> a*x + b, as the low_brightness and low_contrast degradations do), adds no weights, and is recorded
in the checkpoint's config so that eval, predict and export rebuild the same network."""

import numpy as np
import pytest
import torch

from ferbench.degrade.registry import degrade_one
from ferbench.models.config import Preprocess
from ferbench.models.fernet import fernet, standardize_faces
from ferbench.models.preprocess import to_tensor

TINY = {"stem": 8, "widths": [8, 16], "depths": [1, 1]}


def _faces(n: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 48, 48, generator=g) * 2 - 1


def test_standardized_faces_have_zero_mean_and_unit_variance_and_flat_faces_stay_finite():
    z = standardize_faces(_faces() * 0.3 + 0.2)
    torch.testing.assert_close(z.mean(dim=(1, 2, 3)), torch.zeros(6), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std(dim=(1, 2, 3), unbiased=False), torch.ones(6), atol=1e-3, rtol=0)
    assert standardize_faces(torch.full((1, 1, 48, 48), 0.7)).abs().max().item() < 1e-3  # float rounding of the mean


@pytest.mark.parametrize("standardize", [True, False])
def test_only_the_standardized_network_ignores_exposure_and_contrast(standardize):
    torch.manual_seed(0)
    model = fernet(standardize=standardize, **TINY).eval()
    x = _faces()
    with torch.no_grad():
        diff = (model(x) - model(x * 0.45 - 0.3)).abs().max().item()
    assert (diff < 1e-3) if standardize else (diff > 1e-2)


def test_standardized_network_survives_the_registered_photometric_degradations_on_uint8_faces():
    """Through uint8 rounding (the real pipeline), not only in float: the two photometric kinds at severity 3."""
    torch.manual_seed(0)
    model = fernet(standardize=True, **TINY).eval()
    rng = np.random.default_rng(0)
    faces = rng.integers(30, 226, size=(6, 48, 48), dtype=np.uint8)
    with torch.no_grad():
        clean = model(to_tensor(faces, Preprocess())).softmax(1)
        for kind in ("low_brightness", "low_contrast"):
            degraded = np.stack([degrade_one(f, kind, 3, np.random.default_rng(1)) for f in faces])
            assert (model(to_tensor(degraded, Preprocess())).softmax(1) - clean).abs().max().item() < 0.02, kind


def test_standardize_adds_no_weights():
    plain, standardized = fernet(**TINY), fernet(standardize=True, **TINY)
    assert plain.state_dict().keys() == standardized.state_dict().keys()
    standardized.load_state_dict(plain.state_dict())  # stage-2 weights fine-tune into a standardized network


def test_standardized_checkpoint_reloads_and_exports_to_onnx_with_parity(tmp_path):
    pytest.importorskip("onnxruntime")
    from conftest import synthetic_faces

    from ferbench.models import load_predictor
    from ferbench.models.checkpoint import save_checkpoint
    from ferbench.models.config import ModelConfig
    from ferbench.models.export import parity

    torch.manual_seed(0)
    kwargs = {**TINY, "standardize": True}
    ckpt = save_checkpoint(fernet(**kwargs).eval(), ModelConfig(arch="fernet", arch_kwargs=kwargs),
                           tmp_path / "std.safetensors")
    torch_p = load_predictor("fernet", ckpt, device="cpu")
    assert torch_p.module.standardize
    faces, _ = synthetic_faces(32)
    result = parity(torch_p, load_predictor("fernet", ckpt, device="cpu", backend="onnxruntime"), faces)
    assert result["max_abs_softmax_diff"] < 1e-5 and result["argmax_agreement"] == 1.0
