"""Zero-shot CLIP-family predictors: ``clip`` (open_clip), ``hf_clip`` and ``siglip`` (transformers).

The class embedding of an emotion is the mean of the L2-normalised text embeddings of every (template,
class name) pair, renormalised (prompt ensembling). Logits are the model's ``logit_scale.exp()`` × cosine
similarity (+ ``logit_bias`` for SigLIP, which a softmax cancels); probabilities are the softmax over the 7
classes (SigLIP's native sigmoid scores do not sum to 1). The result is a :class:`ClipClassifier` whose
head rows are in FER order, evaluated by :class:`TorchPredictor` like any checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict

from ...emotions import EMOTIONS
from ..config import ModelConfig, Preprocess
from ..registry import register_model
from ..torch_predictor import TorchPredictor
from .classifier import ClipClassifier, HFVision, state_digest
from .hub import hub_offline, offline_hint, read_hf_config
from .prompts import clip_classnames, clip_templates, default_prompt

_RESIZE = {2: "bilinear", 3: "bicubic", "bilinear": "bilinear", "bicubic": "bicubic"}


class ClipOptions(BaseModel):
    """``--option`` keys of the CLIP family."""

    model_config = ConfigDict(extra="forbid")
    arch: Optional[str] = None          # open_clip architecture: ViT-B-32, hf-hub:org/repo...
    repo: Optional[str] = None          # transformers hub id (hf_clip, siglip), read from cache_dir
    pretrained: Optional[str] = None    # open_clip pretrained tag (laion2b_s34b_b79k...) or weights file
    cache_dir: Optional[str] = None     # where hub files are cached (read; written only with download)
    download: bool = False              # allow fetching from the hub
    prompts: str = default_prompt("prompts")
    classnames: Union[str, list[str], dict[str, Union[str, list[str]]]] = default_prompt("classnames")
    batch_size: int = 64
    tta: str = "none"
    device: Optional[str] = None


@dataclass
class LoadedClip:
    """What zero-shot needs from either library."""

    encoder: torch.nn.Module                      # pixels -> image embedding
    encode_text: Callable[[list[str]], torch.Tensor]
    logit_scale: float
    logit_bias: float
    preprocess: Preprocess
    spec: dict[str, Any]                          # rebuilds the encoder from a checkpoint config
    source: dict[str, Any]


def _preprocess(size: Any, mean: Any, std: Any, resample: Any) -> Preprocess:
    size = size[0] if isinstance(size, (tuple, list)) else size
    return Preprocess(input_size=int(size), in_chans=3, mean=[float(m) for m in mean], std=[float(s) for s in std],
                      resize=_RESIZE.get(resample, "bicubic"))


def load_open_clip(weights: str | Path | None, o: ClipOptions) -> LoadedClip:
    import open_clip

    if weights is not None and Path(weights).is_dir():
        if not (Path(weights) / "open_clip_config.json").is_file():
            hint = " (a transformers model: use --model hf_clip or siglip)" if read_hf_config(weights) else ""
            raise FileNotFoundError(f"{weights}: no open_clip_config.json, not an open_clip model directory{hint}")
        model_name, pretrained = f"local-dir:{weights}", None
    elif weights is not None:
        if not Path(weights).is_file():
            raise FileNotFoundError(f"{weights}: no such weights file or directory")
        if not o.arch:
            raise ValueError(f"{weights}: a weights file needs --option arch=ARCH (e.g. ViT-B-32)")
        model_name, pretrained = o.arch, str(weights)
    else:
        if not o.arch:
            raise ValueError("clip needs --weights DIR (an open_clip model directory), or --option arch=ARCH with "
                             "pretrained=TAG|FILE (or arch=hf-hub:org/repo)")
        model_name, pretrained = o.arch, o.pretrained
    try:
        with hub_offline(o.download):
            model = open_clip.create_model(model_name, pretrained=pretrained, cache_dir=o.cache_dir,
                                           require_pretrained=True, pretrained_text=False)
            tokenizer = open_clip.get_tokenizer(model_name, cache_dir=o.cache_dir)
            cfg = open_clip.get_model_config(model_name) or open_clip.get_model_config(model_name.replace("/", "-"))
    except (RuntimeError, OSError) as exc:
        raise FileNotFoundError(f"{offline_hint(model_name, o.download)}: {exc}") from None
    if cfg is None:
        raise ValueError(f"open_clip knows no architecture {model_name!r} (open_clip.list_models() lists them)")
    model.eval()

    @torch.inference_mode()
    def encode_text(texts: list[str]) -> torch.Tensor:
        return model.encode_text(tokenizer(texts).to(next(model.parameters()).device)).float()

    pre = model.visual.preprocess_cfg
    bias = getattr(model, "logit_bias", None)
    return LoadedClip(
        encoder=model.visual, encode_text=encode_text, logit_scale=model.logit_scale.exp().item(),
        logit_bias=bias.item() if bias is not None else 0.0,
        preprocess=_preprocess(pre["size"], pre["mean"], pre["std"], pre.get("interpolation")),
        spec={"backend": "open_clip", "embed_dim": cfg["embed_dim"], "vision_cfg": cfg["vision_cfg"],
              "quick_gelu": cfg.get("quick_gelu", False)},
        source={"backend": "open_clip", "model": model_name, "pretrained": pretrained})


def load_transformers_clip(weights: str | Path | None, o: ClipOptions, model_type: str) -> LoadedClip:
    from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

    source = str(weights) if weights is not None else o.repo
    if source is None:
        raise ValueError(f"--model {'siglip' if model_type == 'siglip' else 'hf_clip'} needs --weights DIR (a "
                         f"transformers model directory) or --option repo=org/name (from the cache)")
    kw = {"cache_dir": o.cache_dir, "local_files_only": not o.download}
    try:
        model = AutoModel.from_pretrained(source, **kw).eval()
        tokenizer = AutoTokenizer.from_pretrained(source, **kw)
        image_processor = AutoImageProcessor.from_pretrained(source, **kw)
    except OSError as exc:
        raise FileNotFoundError(f"{offline_hint(source, o.download)}: {exc}") from None
    if model.config.model_type != model_type:
        raise ValueError(f"{source} is a {model.config.model_type!r} model, not {model_type!r}")
    padding = "max_length" if model_type == "siglip" else True  # SigLIP was trained on max-length padding
    max_length = model.config.text_config.max_position_embeddings

    @torch.inference_mode()
    def encode_text(texts: list[str]) -> torch.Tensor:
        enc = tokenizer(texts, padding=padding, truncation=True, max_length=max_length, return_tensors="pt")
        inputs = {k: enc[k].to(model.device) for k in ("input_ids", "attention_mask") if k in enc}
        out = model.get_text_features(**inputs)
        return getattr(out, "pooler_output", out).float()

    vision_config = model.config.vision_config.to_dict()
    projection = getattr(model, "visual_projection", None)
    if projection is not None:
        vision_config["projection_dim"] = model.config.projection_dim
    bias = getattr(model, "logit_bias", None)
    return LoadedClip(
        encoder=HFVision(model.vision_model, projection), encode_text=encode_text,
        logit_scale=model.logit_scale.exp().item(), logit_bias=bias.item() if bias is not None else 0.0,
        preprocess=_preprocess(model.config.vision_config.image_size, image_processor.image_mean,
                               image_processor.image_std, getattr(image_processor, "resample", None)),
        spec={"backend": "transformers", "model_type": model_type, "vision_config": vision_config},
        source={"backend": "transformers", "model": source, "model_type": model_type})


@torch.inference_mode()
def class_embeddings(encode_text: Callable[[list[str]], torch.Tensor], templates: list[str],
                     classnames: dict[str, list[str]]) -> torch.Tensor:
    """7×D unit vectors, FER order: per emotion, the renormalised mean of its normalised prompt embeddings."""
    if list(classnames) != list(EMOTIONS):
        raise ValueError(f"class names must be keyed in FER order {list(EMOTIONS)}, got {list(classnames)}")
    rows = []
    for emotion in EMOTIONS:
        texts = [t.format(name) for t in templates for name in classnames[emotion]]
        rows.append(F.normalize(F.normalize(encode_text(texts), dim=-1).mean(dim=0), dim=0))
    return torch.stack(rows)


class ClipPredictor(TorchPredictor):
    """Zero-shot CLIP: a :class:`TorchPredictor` over a :class:`ClipClassifier` whose head came from prompts."""

    def __init__(self, loaded: LoadedClip, options: ClipOptions, name: str, weights: str | Path | None):
        self.loaded, self.options = loaded, options
        self.templates = clip_templates(options.prompts)
        self.classnames = clip_classnames(options.classnames)
        text = class_embeddings(loaded.encode_text, self.templates, self.classnames)
        module = ClipClassifier(loaded.encoder, text.shape[1])
        with torch.no_grad():
            module.head.weight.copy_(text * loaded.logit_scale)
            module.head.bias.fill_(loaded.logit_bias)
        config = ModelConfig(arch="clip_classifier", preprocess=loaded.preprocess,
                             arch_kwargs={"encoder": loaded.spec, "embed_dim": int(text.shape[1])},
                             provenance={"zero_shot": self.prompt_info(), "source": loaded.source})
        super().__init__(module, config, name=name, weights_sha256=state_digest(module), batch_size=options.batch_size,
                         tta=options.tta, device=options.device, weights_path=str(weights) if weights else None)

    def prompt_info(self) -> dict[str, Any]:
        return {"prompts": self.options.prompts, "templates": self.templates, "classnames": self.classnames,
                "logit_scale": self.loaded.logit_scale, "logit_bias": self.loaded.logit_bias}

    def with_prompts(self, prompts: str) -> "ClipPredictor":
        """The same model with another template set (the prompt-sensitivity table reuses loaded weights)."""
        return ClipPredictor(self.loaded, self.options.model_copy(update={"prompts": prompts}), self.name,
                             self.weights_path)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "family": "clip", "source": self.loaded.source, "zero_shot": self.prompt_info()}


def load_clip(name: str, weights: str | Path | None, **options: Any) -> ClipPredictor:
    o = ClipOptions(**options)
    if name == "clip":
        loaded = load_open_clip(weights, o)
    else:
        loaded = load_transformers_clip(weights, o, "siglip" if name == "siglip" else "clip")
    return ClipPredictor(loaded, o, name, weights)


_OPTIONS = "options: prompts, classnames, arch, pretrained, cache_dir, download, batch_size, tta"
_HF = "(--weights model dir, or repo=ID from cache_dir); options: prompts, classnames"
register_model("clip", family="clip", predictor=load_clip,
               description=f"zero-shot open_clip (--weights open_clip dir or file + arch=...); {_OPTIONS}")(load_clip)
register_model("hf_clip", family="clip", predictor=load_clip,
               description=f"zero-shot CLIP through transformers {_HF}")(load_clip)
register_model("siglip", family="clip", predictor=load_clip,
               description=f"zero-shot SigLIP through transformers {_HF}; softmax over 7 classes")(load_clip)
