"""Generative VLMs through transformers' image-text-to-text models (LLaVA, Qwen2-VL/Qwen2.5-VL, SmolVLM,
PaliGemma; Phi-3.5-Vision only with ``trust_remote_code``), in two modes.

``score``: for each image, the 7 answers (the prompt's answer words) are appended to the prompt and the
whole image batch × 7 answers runs in ONE forward pass (no ``generate()``, no KV cache: Phi-3.5's remote
cache code breaks on new transformers). An answer's score is the SUM of its tokens' log-probabilities (the
log-likelihood of the answer string; ``score_reduce=mean`` divides by its token count); probabilities are
the softmax of the 7 scores, i.e. P(answer | one of the 7 answers).

``generate``: greedy decoding, then :func:`ferbench.emotions.parse_answer`; an answer naming no emotion
(or several) gets pred -1 and NaN probabilities, is counted as ``unparsed`` and kept in ``raw``.
``decode=loop`` decodes without a KV cache (a full forward pass per token), the default for remote code.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from ...emotions import EMOTIONS
from ...utils.io import path_digest
from ..predictor import Prediction, Predictor
from ..registry import register_model
from .batching import PromptEncoder, answer_block, answer_loglik, append_tokens, collate
from .hub import offline_hint, read_hf_config, require_remote_code_consent
from .images import to_pil
from .prompts import default_prompt, prediction_from_answers, prompt_format, vlm_prompt


class VlmOptions(BaseModel):
    """``--option`` keys of the generative-VLM family."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["score", "generate"] = "score"
    prompt: str = default_prompt("generative")
    score_reduce: Literal["sum", "mean"] = "sum"
    max_new_tokens: int = 12
    decode: Literal["auto", "generate", "loop"] = "auto"
    chat_format: Optional[str] = None   # "chat" | a template with {question} | None: chat template, else packaged
    trust_remote_code: bool = False
    repo: Optional[str] = None          # hub id, read from cache_dir when no --weights directory is given
    cache_dir: Optional[str] = None
    download: bool = False
    dtype: Optional[Literal["float32", "bfloat16", "float16"]] = None  # None: bfloat16 on a GPU, else float32
    attn_implementation: Optional[str] = None
    processor_options: dict[str, Any] = Field(default_factory=dict)  # e.g. {num_crops: 4} for Phi-3.5
    batch_size: int = 4
    device: Optional[str] = None        # None: cuda when a GPU is present, else cpu


def choose_device_dtype(device: Optional[str], dtype: Optional[str]) -> tuple[str, str]:
    """The device and dtype a generative VLM runs in: what was asked for, else a GPU in bfloat16 when one is
    present (float16 on GPUs without bfloat16), else the CPU in float32 (bfloat16 matmuls are slow on most CPUs)."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype is None:
        if device.startswith("cuda"):
            dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        else:
            dtype = "float32"
    return device, dtype


# Registered names -> the config.json model types they accept (None: any image-text-to-text model).
MODEL_TYPES: dict[str, Optional[set[str]]] = {
    "vlm": None, "llava": {"llava", "llava_next", "llava_onevision"}, "qwen2_vl": {"qwen2_vl"},
    "qwen2_5_vl": {"qwen2_5_vl"}, "smolvlm": {"smolvlm", "idefics3"}, "paligemma": {"paligemma"},
    "phi35_vision": {"phi3_v"},
}


def _load(name: str, weights: str | Path | None, o: VlmOptions):
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor

    source = str(weights) if weights is not None else o.repo
    if source is None:
        raise ValueError(f"--model {name} needs --weights DIR (a transformers model directory) or --option repo=ID")
    if weights is not None and not Path(weights).is_dir():
        raise FileNotFoundError(f"{weights}: not a model directory")
    config = read_hf_config(source)
    require_remote_code_consent(source, config, o.trust_remote_code, always=name == "phi35_vision")
    wanted = MODEL_TYPES[name]
    if config and wanted and config.get("model_type") not in wanted:
        raise ValueError(f"{source} is a {config.get('model_type')!r} model, not {name} ({', '.join(sorted(wanted))}); "
                         f"use --model vlm for any image-text-to-text model")
    auto_map = (config or {}).get("auto_map", {})
    cls = AutoModelForCausalLM if "AutoModelForCausalLM" in auto_map and "AutoModelForImageTextToText" not in auto_map \
        else AutoModelForImageTextToText
    kw = {"cache_dir": o.cache_dir, "local_files_only": not o.download, "trust_remote_code": o.trust_remote_code}
    model_kw = {"dtype": getattr(torch, o.dtype or "float32")}
    if o.attn_implementation or o.trust_remote_code:  # remote code often defaults to flash-attention (no CPU)
        model_kw["attn_implementation"] = o.attn_implementation or "eager"
    try:
        model = cls.from_pretrained(source, **kw, **model_kw).eval()
        processor = AutoProcessor.from_pretrained(source, **kw, **o.processor_options)
    except OSError as exc:
        raise FileNotFoundError(f"{offline_hint(source, o.download)}: {exc}") from None
    return model, processor, source


class VlmPredictor(Predictor):
    def __init__(self, model: Any, processor: Any, options: VlmOptions, name: str, source: str):
        self.model, self.processor, self.options, self.name, self.source = model, processor, options, name, source
        self.device = torch.device(options.device or "cpu")
        self.model.to(self.device)
        self.batch_size = options.batch_size
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.model_type = getattr(model.config, "model_type", "unknown")
        self.pad_id = next(i for i in (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id, 0) if i is not None)
        self.eos_ids = _eos_ids(model, self.tokenizer)
        self.banned = _image_token_ids(model, processor)  # a generated image placeholder would break the next pass
        self.accepts_logits_to_keep = "logits_to_keep" in inspect.signature(model.forward).parameters
        self.set_prompt(options.prompt)
        self._digest: str | None = None

    def set_prompt(self, prompt: str) -> None:
        self.options = self.options.model_copy(update={"prompt": prompt})
        self.prompt = vlm_prompt(prompt)
        self.text = self._prompt_text(self.prompt.question)
        self.encoder = PromptEncoder(self.processor, self.text)
        self.answer_ids = [self.tokenizer(a, add_special_tokens=False)["input_ids"] for a in self.prompt.answers]
        if any(not a for a in self.answer_ids):
            raise ValueError(f"prompt {prompt!r}: an answer tokenises to nothing: {self.prompt.answers}")

    def with_prompt(self, prompt: str) -> "VlmPredictor":
        """The same loaded model with another prompt (for the prompt-sensitivity table)."""
        import copy

        other = copy.copy(self)
        other.set_prompt(prompt)
        return other

    def _prompt_text(self, question: str) -> str:
        fmt = self.options.chat_format
        if fmt is None and getattr(self.processor, "chat_template", None):
            fmt = "chat"
        if fmt == "chat":
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
            return self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        fmt = fmt or prompt_format(self.model_type)
        if fmt is None or "{question}" not in fmt:
            raise ValueError(f"{self.source}: its processor has no chat template and ferbench knows no prompt format "
                             f"for model type {self.model_type!r}; pass --option chat_format='... {{question}} ...'")
        return fmt.replace("{question}", question)

    def _encode(self, images: np.ndarray, repeat: int) -> dict[str, Any]:
        batch = collate(self.encoder(to_pil(images)), repeat, self.pad_id)
        dtype = next(self.model.parameters()).dtype  # pixel values follow a bfloat16 model
        return {k: (v.to(self.device, dtype) if v.is_floating_point() else v.to(self.device)) if torch.is_tensor(v)
                else v for k, v in batch.items()}

    def _forward(self, batch: dict[str, Any], keep: int | None) -> torch.Tensor:
        kw = {"logits_to_keep": keep} if keep and self.accepts_logits_to_keep else {}
        logits = self.model(**batch, use_cache=False, **kw).logits
        return logits[:, -keep:] if keep else logits

    @torch.inference_mode()
    def scores(self, images: np.ndarray) -> tuple[torch.Tensor, dict[str, float]]:
        """N×7 answer log-likelihoods (FER order), from one forward pass over N×7 sequences."""
        k = len(EMOTIONS)
        batch = self._encode(images, repeat=k)
        tokens, mask = answer_block(self.answer_ids, len(images), self.pad_id)
        tokens, mask = tokens.to(self.device), mask.to(self.device)
        batch = append_tokens(batch, tokens, mask, suffix_type=1 if self.model_type == "paligemma" else 0)
        logits = self._forward(batch, keep=tokens.shape[1] + 1)
        loglik = answer_loglik(logits, tokens, mask, self.options.score_reduce).view(len(images), k)
        return loglik, {"input_tokens": int(batch["attention_mask"].sum()), "forward_passes": 1}

    @torch.inference_mode()
    def generate(self, images: np.ndarray) -> tuple[list[str], dict[str, float]]:
        batch = self._encode(images, repeat=1)
        start = batch["input_ids"].shape[1]
        decode = self.options.decode
        if decode == "auto":
            decode = "loop" if self.options.trust_remote_code else "generate"
        if decode == "generate":
            out = self.model.generate(**batch, max_new_tokens=self.options.max_new_tokens, do_sample=False,
                                      pad_token_id=self.pad_id, suppress_tokens=sorted(self.banned) or None)
            new, passes = out[:, start:], out.shape[1] - start
        else:
            new, passes = self._greedy_loop(batch)
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        generated = int(sum(_until_eos(row, self.eos_ids) for row in new.tolist()))
        return [t.strip() for t in texts], {"input_tokens": int(batch["attention_mask"].sum()),
                                            "generated_tokens": generated, "forward_passes": passes}

    def _greedy_loop(self, batch: dict[str, Any]) -> tuple[torch.Tensor, int]:
        """Greedy decoding with a full forward pass per token: slow, but needs no cache support."""
        rows = batch["input_ids"].shape[0]
        done = torch.zeros(rows, dtype=torch.bool, device=self.device)
        new = torch.empty((rows, 0), dtype=torch.long, device=self.device)
        eos = torch.tensor(sorted(self.eos_ids), device=self.device)
        suffix_type = 1 if self.model_type == "paligemma" else 0
        for step in range(self.options.max_new_tokens):
            logits = self._forward(batch, keep=1)[:, -1]
            logits[:, sorted(self.banned)] = float("-inf")
            nxt = logits.argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, self.pad_id), nxt)
            new = torch.cat([new, nxt[:, None]], dim=1)
            done |= torch.isin(nxt, eos)
            if bool(done.all()):
                return new, step + 1
            batch = append_tokens(batch, nxt[:, None], torch.ones_like(nxt)[:, None], suffix_type)
        return new, self.options.max_new_tokens

    def predict(self, images: np.ndarray) -> Prediction:
        if self.options.mode == "score":
            loglik, extra = self.scores(images)
            proba = torch.softmax(loglik, dim=1).cpu().numpy()
            return Prediction.from_proba(proba, extra=extra)
        texts, extra = self.generate(images)
        p = prediction_from_answers(texts)
        p.extra.update(extra)
        return p

    def describe(self) -> dict[str, Any]:
        if self._digest is None:
            self._digest = path_digest(self.source) if Path(self.source).is_dir() else None
        o = self.options.model_dump(mode="json", exclude={"batch_size", "device"})
        return {"name": self.name, "family": "vlm", "source": self.source, "weights_sha256": self._digest,
                "model_type": self.model_type, "options": o, "prompt_text": self.text,
                "answers": dict(zip(EMOTIONS, self.prompt.answers))}

    def cost_info(self) -> dict[str, Any]:
        from torch.utils.flop_counter import FlopCounterMode

        params = int(sum(p.numel() for p in self.model.parameters()))
        info: dict[str, Any] = {"params": params, "mode": self.options.mode}
        blank = np.zeros((1, 48, 48), dtype=np.uint8)
        with FlopCounterMode(display=False) as counter:
            self.predict(blank)
        info["flops_per_image"] = int(counter.get_total_flops())  # a blank 48-px face; generate: its answer's length
        return info


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids = getattr(getattr(model, "generation_config", None), "eos_token_id", None) or tokenizer.eos_token_id
    ids = ids if isinstance(ids, (list, tuple, set)) else [ids]
    return {int(i) for i in ids if i is not None}


def _image_token_ids(model: Any, processor: Any) -> set[int]:
    ids = {getattr(model.config, k, None) for k in ("image_token_id", "image_token_index")}
    ids.add(getattr(processor, "image_token_id", None))
    return {int(i) for i in ids if isinstance(i, int) and i >= 0}


def _until_eos(row: list[int], eos: set[int]) -> int:
    for i, token in enumerate(row):
        if token in eos:
            return i + 1
    return len(row)


def load_vlm(name: str, weights: str | Path | None, **options: Any) -> VlmPredictor:
    o = VlmOptions(**options)
    device, dtype = choose_device_dtype(o.device, o.dtype)
    o = o.model_copy(update={"device": device, "dtype": dtype})  # run.json records what ran
    model, processor, source = _load(name, weights, o)
    return VlmPredictor(model, processor, o, name, source)


_DESCRIPTIONS = {
    "vlm": "any transformers image-text-to-text VLM (--weights model dir); mode=score|generate, prompt=...",
    "llava": "LLaVA / LLaVA-NeXT / LLaVA-OneVision (transformers)",
    "qwen2_vl": "Qwen2-VL (transformers)", "qwen2_5_vl": "Qwen2.5-VL (transformers)",
    "smolvlm": "SmolVLM / Idefics3 (transformers)", "paligemma": "PaliGemma (transformers)",
    "phi35_vision": "Phi-3.5-Vision: its own code, only with --trust-remote-code",
}
for _name, _text in _DESCRIPTIONS.items():
    register_model(_name, family="vlm", predictor=load_vlm, description=_text)(load_vlm)
