"""Quality and effect of a restoration: PSNR/SSIM against an original, and how often it flips a classifier.

PSNR and SSIM come from torchmetrics, per image, on [0, 1] gray images at the reference's size (a restored
RGB face is compared through its luma; a larger one is first area-resized to the reference). A restored
image identical to its reference has infinite PSNR; it is counted as 100 dB so that means stay finite.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import resize_batch, to_gray

PSNR_CAP_DB = 100.0


def _as_reference(images: np.ndarray, reference: np.ndarray) -> np.ndarray:
    gray = to_gray(images)
    return resize_batch(gray, reference.shape[1:3])


def image_quality(reference: np.ndarray, images: np.ndarray) -> dict[str, Any]:
    """Mean and median PSNR (dB) and SSIM of ``images`` against ``reference`` (same rows, same order)."""
    import torch
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    if len(reference) != len(images):
        raise ValueError(f"{len(images)} images for {len(reference)} references")
    ref = to_gray(reference)
    x = torch.from_numpy(_as_reference(images, ref)).float().div(255).unsqueeze(1)
    y = torch.from_numpy(np.ascontiguousarray(ref)).float().div(255).unsqueeze(1)
    psnr = peak_signal_noise_ratio(x, y, data_range=1.0, reduction="none", dim=(1, 2, 3))
    psnr = torch.nan_to_num(psnr, posinf=PSNR_CAP_DB).clamp(max=PSNR_CAP_DB)
    ssim = structural_similarity_index_measure(x, y, data_range=1.0, reduction="none")
    return {"n": len(ref), "psnr_db_mean": round(float(psnr.mean()), 4),
            "psnr_db_median": round(float(psnr.median()), 4), "ssim_mean": round(float(ssim.mean()), 4),
            "ssim_median": round(float(ssim.median()), 4)}


def predict_all(predictor: Any, images: np.ndarray) -> np.ndarray:
    """Class predictions (FER order, -1 = no answer) for every image, in the predictor's batch size."""
    bs = max(1, int(getattr(predictor, "batch_size", 64)))
    preds = [predictor.predict(images[lo:lo + bs]).pred for lo in range(0, len(images), bs)]
    return np.concatenate(preds) if preds else np.zeros(0, np.int64)


def label_flips(before: np.ndarray, after: np.ndarray, labels: np.ndarray | None = None) -> dict[str, Any]:
    """Share of predictions that differ between two versions of the same images, and each version's
    accuracy where labels are known (label >= 0)."""
    if len(before) != len(after):
        raise ValueError(f"{len(after)} predictions for {len(before)}")
    flips = round(float(np.mean(before != after)), 4) if len(before) else None
    out: dict[str, Any] = {"n": int(len(before)), "flip_rate": flips}
    if labels is not None:
        known = labels >= 0
        if known.any():
            out["accuracy_before"] = round(float(np.mean(before[known] == labels[known])), 4)
            out["accuracy_after"] = round(float(np.mean(after[known] == labels[known])), 4)
            right_before, right_after = before[known] == labels[known], after[known] == labels[known]
            out["fixed"] = int(np.sum(~right_before & right_after))
            out["broken"] = int(np.sum(right_before & ~right_after))
    return out
