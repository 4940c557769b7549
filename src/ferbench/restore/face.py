"""Face restorers run through spandrel (GFPGAN, CodeFormer, RestoreFormer): loading and the 48-px policy.

These networks restore 512×512 *aligned* faces (FFHQ alignment). FER faces are 48×48 gray crops that are
already roughly centred, too small for a landmark detector. The policy, the same for all three:

1. gray -> RGB by replicating the channel (the networks take 3 channels; they may add colour);
2. optional ``pad``: each side grows by ``pad`` × the face side, by replicating the border, so that the face
   fills less of the frame (closer to FFHQ framing); default 0 = the crop is taken as the aligned face,
   like GFPGAN's own ``has_aligned=True`` path;
3. upscale to ``face_size`` (512) with ``upscale`` (bicubic; GFPGAN's aligned path uses bilinear);
4. normalise to [-1, 1], restore (GFPGAN: StyleGAN noise taken from the stored buffers instead of drawn
   afresh, so the output is deterministic and cacheable), map back to [0, 255];
5. crop the padding away; the base class then resizes to the requested size (area filter when shrinking).

``arch`` (keyword arguments of spandrel's architecture class) loads a state dict into an explicitly built
network, for non-standard sizes (narrow test models); without it spandrel detects the architecture from
the weights and the file must be of the expected kind.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

import numpy as np
from pydantic import Field

from ..utils.io import sha256_file
from .base import Restorer, RestorerParams, RestorerUnavailable, to_rgb
from .weights import official_name, resolve_weights

_KERNELS = {"bicubic": "INTER_CUBIC", "bilinear": "INTER_LINEAR", "lanczos": "INTER_LANCZOS4"}


class FaceParams(RestorerParams):
    weights: Optional[str] = None
    download: bool = False
    face_size: int = 512
    pad: float = Field(0.0, ge=0.0, lt=0.5)
    upscale: Literal["bicubic", "bilinear", "lanczos"] = "bicubic"
    arch: dict[str, Any] = Field(default_factory=dict)


class FaceRestorer(Restorer):
    Params = FaceParams
    arch_id = ""          # spandrel's architecture id, checked when the weights are auto-detected
    official_key = ""     # entry of weights.OFFICIAL fetched by download=True
    batch_size = 4

    def arch_class(self) -> type:
        raise NotImplementedError

    def forward(self, x):
        """[-1, 1] N×3×S×S -> [-1, 1] N×3×S×S."""
        return self.module(x)[0]

    def setup(self) -> None:
        import torch

        path = resolve_weights(self.params.weights, self.params.download, self.official_key)
        self.weights_path, self.weights_sha256 = path, sha256_file(path)
        self.official = official_name(self.weights_sha256)
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.module = self._load(path).to(self.device).eval()

    def _load(self, path):
        import spandrel

        loader = spandrel.ModelLoader()
        try:
            state = loader.load_state_dict_from_file(path)
        except Exception as exc:  # pickle/safetensors errors come in many types
            raise ValueError(f"{path}: cannot read weights: {exc}") from None
        if self.params.arch:
            module = self.arch_class()(**self.params.arch)
            try:
                module.load_state_dict(state)
            except RuntimeError as exc:
                raise ValueError(f"{path}: does not fit {self.arch_id}({self.params.arch}): {exc}") from None
            return module
        try:
            descriptor = loader.load_from_state_dict(state)
        except spandrel.UnsupportedModelError:
            raise ValueError(f"{path}: spandrel recognises no architecture in it (expected {self.arch_id})") from None
        except RuntimeError as exc:  # detected, but the tensors do not fit the standard size
            raise ValueError(f"{path}: not a standard {self.arch_id} (give arch=... for other sizes): "
                             f"{str(exc)[:300]}") from None
        if descriptor.architecture.id != self.arch_id:
            raise ValueError(f"{path} is a {descriptor.architecture.id} model, not {self.arch_id}")
        return descriptor.model

    def _restore(self, images: np.ndarray) -> np.ndarray:
        import cv2
        import torch

        size, pad_frac = self.params.face_size, self.params.pad
        side = images.shape[1]
        pad = int(round(pad_frac * side))
        faces = []
        for im in to_rgb(images):
            if pad:
                im = cv2.copyMakeBorder(im, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            faces.append(cv2.resize(im, (size, size), interpolation=getattr(cv2, _KERNELS[self.params.upscale])))
        x = torch.from_numpy(np.stack(faces)).to(self.device).permute(0, 3, 1, 2).contiguous().float()
        x = x.div_(127.5).sub_(1.0)
        with torch.inference_mode():
            y = self.forward(x).clamp_(-1.0, 1.0).add_(1.0).mul_(127.5).round_().to(torch.uint8)
        out = y.permute(0, 2, 3, 1).cpu().numpy()
        if pad:
            lo = int(round(size * pad / (side + 2 * pad)))
            out = out[:, lo:size - lo, lo:size - lo]
        return np.ascontiguousarray(out)

    def key_params(self) -> dict:
        params = super().key_params()
        params.pop("weights"), params.pop("download")  # the file is keyed by its SHA-256
        return {**params, "device": self.device.type}

    def worker_params(self) -> dict:
        return {**super().worker_params(), "weights": str(self.weights_path), "download": False}

    def describe(self) -> dict:
        return {**super().describe(), "official_weights": self.official}

    def libraries(self) -> dict[str, str]:
        from importlib import metadata

        import torch

        return {"torch": torch.__version__, "spandrel": metadata.version("spandrel")}


def extra_arches():
    """spandrel-extra-arches (CodeFormer lives there: its code is under a non-commercial licence)."""
    try:
        import spandrel_extra_arches
    except ImportError:
        raise RestorerUnavailable("codeformer needs spandrel-extra-arches (pip install spandrel-extra-arches==0.2.0)"
                                  ) from None
    spandrel_extra_arches.install(ignore_duplicates=True)
    return spandrel_extra_arches
