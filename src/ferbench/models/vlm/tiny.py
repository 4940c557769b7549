"""Tiny randomly initialised VLMs written to a directory, in each library's own format, for tests, the
overhead benchmark and offline smoke runs (``ferbench vlm tiny``). Their predictions are meaningless; their
code paths (loading from a local directory, tokenising, preprocessing, forward passes) are the real ones.

The tokenizer is a word-level one whose vocabulary holds every word of the packaged prompts and the FER
emotion words, built with ``tokenizers`` (no download).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ...emotions import EMOTIONS
from .prompts import PROMPT_DIR

SPECIALS = ["<pad>", "<unk>", "<s>", "</s>", "<image>"]
KINDS = ("open_clip", "hf_clip", "siglip", "siglip_spm", "llava", "qwen2_vl", "paligemma", "smolvlm")
SMOLVLM_SPECIALS = ["<fake_token_around_image>", "<global-img>", "<end_of_utterance>", "<video>", "<|im_start|>"]
# A LLaVA-1.5-style chat template, so the processor's chat path is exercised too.
LLAVA_CHAT_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'user' %}USER: {% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image>\n{% else %}{{ c['text'] }}{% endif %}{% endfor %} {% endif %}"
    "{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}")
QWEN_SPECIALS = ["<|vision_start|>", "<|image_pad|>", "<|vision_end|>", "<|video_pad|>", "<|im_start|>", "<|im_end|>"]
QWEN_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% for c in m['content'] %}{% if c['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% else %}{{ c['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def tiny_tokenizer(max_length: int = 64):
    """A lower-casing word-level tokenizer (``<s> text </s>``) over the prompt vocabulary."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    pre = pre_tokenizers.Whitespace()
    text = _prompt_text()
    words = sorted({w.lower() for w, _ in pre.pre_tokenize_str(text)})
    vocab = {w: i for i, w in enumerate(SPECIALS + [w for w in words if w not in SPECIALS])}
    tok = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre
    tok.add_special_tokens(SPECIALS)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 2), ("</s>", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>", model_max_length=max_length)


def _prompt_text() -> str:
    return " ".join(p.read_text() for p in sorted(PROMPT_DIR.glob("*.yaml"))) + " user assistant " + " ".join(EMOTIONS)


def tiny_sentencepiece(path: Path, max_length: int = 64):
    """A SiglipTokenizer over a small SentencePiece model (``spiece.model``), as real SigLIP snapshots ship."""
    import io

    import sentencepiece as spm
    from transformers import SiglipTokenizer

    buf = io.BytesIO()
    lines = [line for line in _prompt_text().splitlines() if line.strip()]
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf, vocab_size=300,
                                   hard_vocab_limit=False, character_coverage=1.0, pad_id=0, eos_id=1, unk_id=2,
                                   bos_id=-1, minloglevel=2)
    path.mkdir(parents=True, exist_ok=True)
    (path / "spiece.model").write_bytes(buf.getvalue())
    return SiglipTokenizer(vocab_file=str(path / "spiece.model"), model_max_length=max_length)


def _text_kw(vocab_size: int, layers: int = 2) -> dict:
    return dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=layers,
                num_attention_heads=2, pad_token_id=0, bos_token_id=2, eos_token_id=3)


def _vision_kw(image_size: int, patch_size: int = 8, layers: int = 2) -> dict:
    return dict(hidden_size=32, intermediate_size=64, num_hidden_layers=layers, num_attention_heads=2,
                image_size=image_size, patch_size=patch_size)


def _generative(cls, config, seed: int):
    """A randomly initialised generative VLM whose generation stops at the tiny tokenizer's ``</s>``."""
    torch.manual_seed(seed)
    model = cls(config)
    model.generation_config.pad_token_id = 0
    model.generation_config.eos_token_id = 3
    return model


def _square(size: int) -> dict:
    return {"height": size, "width": size}


def tiny_open_clip(path: str | Path, image_size: int = 32, seed: int = 0) -> Path:
    """An open_clip model directory (``open_clip_config.json`` + ``open_clip_model.safetensors``)."""
    import open_clip
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    cfg = {"embed_dim": 16,
           "vision_cfg": {"image_size": image_size, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
           "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}}
    (path / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg, "preprocess_cfg": {
        "mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711],
        "interpolation": "bicubic", "resize_mode": "shortest"}}, indent=1))
    torch.manual_seed(seed)
    model = open_clip.CLIP(**cfg)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path / "open_clip_model.safetensors"))
    return path


def tiny_hf_clip(path: str | Path, kind: str = "clip", image_size: int = 32, seed: int = 0,
                 sentencepiece: bool = False) -> Path:
    """A transformers CLIP or SigLIP directory (model, tokenizer, image processor); ``sentencepiece``: SigLIP
    with a ``spiece.model`` tokenizer, as the published SigLIP snapshots have."""
    from transformers import (CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, SiglipConfig,
                              SiglipImageProcessor, SiglipModel, SiglipProcessor, SiglipTextConfig,
                              SiglipVisionConfig)

    tok = tiny_sentencepiece(Path(path)) if sentencepiece else tiny_tokenizer()
    text = {**_text_kw(len(tok)), "max_position_embeddings": 64}
    torch.manual_seed(seed)
    if kind == "clip":
        model = CLIPModel(CLIPConfig(text_config=text, vision_config=_vision_kw(image_size), projection_dim=16))
        ip = CLIPImageProcessor(size={"shortest_edge": image_size}, crop_size=_square(image_size))
        processor = CLIPProcessor(image_processor=ip, tokenizer=tok)
    elif kind == "siglip":
        model = SiglipModel(SiglipConfig(text_config=SiglipTextConfig(**text),
                                         vision_config=SiglipVisionConfig(**_vision_kw(image_size))))
        processor = SiglipProcessor(image_processor=SiglipImageProcessor(size=_square(image_size)), tokenizer=tok)
    else:
        raise ValueError(f"kind must be clip or siglip, not {kind!r}")
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return Path(path)


def tiny_llava(path: str | Path, chat_template: bool = True, image_size: int = 16, seed: int = 0,
               vision: dict | None = None, text: dict | None = None) -> Path:
    """A transformers LLaVA directory: CLIP vision tower, Llama text model, LlavaProcessor. ``vision`` and
    ``text`` override config sizes (the overhead benchmark builds a larger one)."""
    from transformers import (CLIPImageProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor)

    tok = tiny_tokenizer(max_length=256)
    vision_kw = {**_vision_kw(image_size), **(vision or {})}
    text_kw = {**_text_kw(len(tok)), "num_key_value_heads": 2, "max_position_embeddings": 256, **(text or {})}
    config = LlavaConfig(vision_config=CLIPVisionConfig(**vision_kw), text_config=LlamaConfig(**text_kw),
                         image_token_index=tok.convert_tokens_to_ids("<image>"),
                         vision_feature_select_strategy="default", vision_feature_layer=-1)
    model = _generative(LlavaForConditionalGeneration, config, seed)
    ip = CLIPImageProcessor(size={"shortest_edge": image_size}, crop_size=_square(image_size))
    processor = LlavaProcessor(image_processor=ip, tokenizer=tok, patch_size=vision_kw["patch_size"],
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=LLAVA_CHAT_TEMPLATE if chat_template else None)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return Path(path)


def tiny_qwen2_vl(path: str | Path, seed: int = 0) -> Path:
    """A transformers Qwen2-VL directory: flat patch lists, image_grid_thw and M-RoPE, unlike LLaVA."""
    from transformers import (Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessor,
                              Qwen2VLProcessor, Qwen2VLVideoProcessor)

    tok = tiny_tokenizer(max_length=256)
    tok.add_special_tokens({"additional_special_tokens": QWEN_SPECIALS})
    ids = dict(zip(QWEN_SPECIALS, tok.convert_tokens_to_ids(QWEN_SPECIALS)))
    head_dim_half = 32 // 2 // 2  # hidden 32, 2 heads: M-RoPE sections must sum to head_dim / 2
    config = Qwen2VLConfig(
        text_config={**_text_kw(len(tok)), "num_key_value_heads": 2, "max_position_embeddings": 256,
                     "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0,
                                         "mrope_section": [2, 3, head_dim_half - 5]}},
        vision_config=dict(depth=2, embed_dim=32, hidden_size=32, num_heads=2, patch_size=8, spatial_merge_size=2,
                           temporal_patch_size=2, mlp_ratio=2),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    model = _generative(Qwen2VLForConditionalGeneration, config, seed)
    patches = dict(patch_size=8, merge_size=2, temporal_patch_size=2)
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(size={"shortest_edge": 32 * 32, "longest_edge": 32 * 32}, **patches),
        video_processor=Qwen2VLVideoProcessor(**patches), tokenizer=tok, chat_template=QWEN_CHAT_TEMPLATE)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return Path(path)


def tiny_paligemma(path: str | Path, image_size: int = 16, seed: int = 0) -> Path:
    """A transformers PaliGemma directory: SigLIP vision tower, Gemma text model, prefix-LM token types."""
    from transformers import (GemmaConfig, PaliGemmaConfig, PaliGemmaForConditionalGeneration, PaliGemmaProcessor,
                              SiglipImageProcessor, SiglipVisionConfig)

    tok = tiny_tokenizer(max_length=256)
    text = GemmaConfig(**{**_text_kw(len(tok)), "num_key_value_heads": 1, "head_dim": 16,
                          "max_position_embeddings": 256})
    config = PaliGemmaConfig(vision_config=SiglipVisionConfig(**_vision_kw(image_size)), text_config=text,
                             image_token_index=tok.convert_tokens_to_ids("<image>"), projection_dim=32)
    model = _generative(PaliGemmaForConditionalGeneration, config, seed)
    ip = SiglipImageProcessor(size=_square(image_size))
    ip.image_seq_length = (image_size // 8) ** 2
    model.save_pretrained(path)
    PaliGemmaProcessor(image_processor=ip, tokenizer=tok).save_pretrained(path)
    return Path(path)


def tiny_smolvlm(path: str | Path, image_size: int = 32, seed: int = 0) -> Path:
    """A transformers SmolVLM directory (Idefics3-style image tokens; its processor needs ``num2words``)."""
    from transformers import (LlamaConfig, SmolVLMConfig, SmolVLMForConditionalGeneration, SmolVLMImageProcessor,
                              SmolVLMProcessor, SmolVLMVideoProcessor)
    from transformers.models.smolvlm.configuration_smolvlm import SmolVLMVisionConfig
    from transformers.models.smolvlm.processing_smolvlm import DEFAULT_CHAT_TEMPLATE

    tok = tiny_tokenizer(max_length=256)
    tok.add_special_tokens({"additional_special_tokens": SMOLVLM_SPECIALS})
    text = LlamaConfig(**{**_text_kw(len(tok)), "num_key_value_heads": 2, "max_position_embeddings": 256})
    config = SmolVLMConfig(vision_config=SmolVLMVisionConfig(**_vision_kw(image_size)), text_config=text,
                           image_token_id=tok.convert_tokens_to_ids("<image>"), scale_factor=2)
    model = _generative(SmolVLMForConditionalGeneration, config, seed)
    ip = SmolVLMImageProcessor(do_image_splitting=False, size={"longest_edge": image_size},
                               max_image_size={"longest_edge": image_size})
    processor = SmolVLMProcessor(image_processor=ip, tokenizer=tok, video_processor=SmolVLMVideoProcessor(),
                                 image_seq_len=(image_size // 8 // 2) ** 2, chat_template=DEFAULT_CHAT_TEMPLATE)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return Path(path)


def build_tiny(kind: str, path: str | Path, seed: int = 0) -> Path:
    if kind == "open_clip":
        return tiny_open_clip(path, seed=seed)
    if kind in ("hf_clip", "siglip", "siglip_spm"):
        return tiny_hf_clip(path, "clip" if kind == "hf_clip" else "siglip", seed=seed,
                            sentencepiece=kind == "siglip_spm")
    if kind == "paligemma":
        return tiny_paligemma(path, seed=seed)
    if kind == "smolvlm":
        return tiny_smolvlm(path, seed=seed)
    if kind == "llava":
        return tiny_llava(path, seed=seed)
    if kind == "qwen2_vl":
        return tiny_qwen2_vl(path, seed=seed)
    raise ValueError(f"unknown tiny model kind {kind!r}; one of {', '.join(KINDS)}")
