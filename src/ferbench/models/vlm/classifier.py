"""``ClipClassifier``: a CLIP-family image encoder and a linear head over its normalised embedding.

One module serves zero-shot (head = logit scale × prompt-ensembled class text embeddings), the linear probe
(head = logistic regression) and fine-tuning, so all three are ordinary ferbench checkpoints that
``ferbench eval --weights FILE`` loads through :class:`TorchPredictor`. The checkpoint's config carries the
encoder's architecture (``encoder`` spec), so it loads without the original model files.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...emotions import NUM_CLASSES
from ..registry import register_model

# transformers vision towers ferbench can rebuild from a checkpoint config: model_type -> (config, model).
HF_VISION = {"clip": ("CLIPVisionConfig", "CLIPVisionModelWithProjection"),
             "siglip": ("SiglipVisionConfig", "SiglipVisionModel")}


class HFVision(nn.Module):
    """A transformers vision tower (+ projection for CLIP): pixels -> pooled image embedding."""

    def __init__(self, vision_model: nn.Module, visual_projection: nn.Module | None = None):
        super().__init__()
        self.vision_model = vision_model
        self.visual_projection = visual_projection

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        pooled = self.vision_model(pixel_values=pixel_values).pooler_output
        return self.visual_projection(pooled) if self.visual_projection is not None else pooled


def build_encoder(spec: dict[str, Any]) -> nn.Module:
    """A randomly initialised image encoder from an ``encoder`` spec (weights come from the checkpoint)."""
    backend = spec.get("backend")
    if backend == "open_clip":
        from open_clip.model import _build_vision_tower  # the tower alone: no text model, no download

        return _build_vision_tower(spec["embed_dim"], spec["vision_cfg"], quick_gelu=spec.get("quick_gelu", False))
    if backend == "transformers":
        import transformers

        model_type = spec["model_type"]
        if model_type not in HF_VISION:
            raise ValueError(f"cannot rebuild a {model_type!r} vision tower; supported: {', '.join(HF_VISION)}")
        config_cls, model_cls = (getattr(transformers, n) for n in HF_VISION[model_type])
        tower = model_cls(config_cls.from_dict(spec["vision_config"]))
        # CLIPVisionModelWithProjection wraps .vision_model; SiglipVisionModel is the transformer itself.
        return HFVision(getattr(tower, "vision_model", tower), getattr(tower, "visual_projection", None))
    raise ValueError(f"unknown encoder backend {backend!r} (open_clip, transformers)")


class ClipClassifier(nn.Module):
    def __init__(self, encoder: nn.Module, embed_dim: int, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(embed_dim, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised image embeddings (what the head, the probe and zero-shot all consume)."""
        return F.normalize(self.encoder(x).float(), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


@register_model("clip_classifier", family="clip", description="CLIP-family image encoder + linear head: zero-shot "
                "export, linear probe or fine-tuned checkpoint (ferbench vlm probe/finetune)")
def clip_classifier(num_classes: int = NUM_CLASSES, in_chans: int = 3, input_size: int = 224,
                    encoder: dict[str, Any] | None = None, embed_dim: int | None = None, **kw: Any) -> ClipClassifier:
    if encoder is None or embed_dim is None:
        raise ValueError("clip_classifier needs arch_kwargs 'encoder' and 'embed_dim' (written by ferbench vlm probe/"
                         "finetune); it is not built from scratch")
    if in_chans != 3:
        raise ValueError("CLIP-family encoders take 3-channel input")
    return ClipClassifier(build_encoder(encoder), embed_dim, num_classes)


def state_digest(module: nn.Module) -> str:
    """SHA-256 of a module's tensors (names, shapes, bytes): identifies exactly what will run."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()
