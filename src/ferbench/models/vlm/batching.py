"""Building the token batches of generative VLMs: collating per-image processor outputs and appending
answer tokens, for any image-text-to-text model.

Each image is processed alone (every processor accepts one image and one prompt; not all accept batches)
and the outputs are stacked: sequence tensors (``input_ids``, ``attention_mask``, ``token_type_ids``...)
are left-padded to a common length, so that appended tokens start at the same position in every row;
image tensors are concatenated along their first axis (per-image batches, or Qwen2-VL's flat patch list).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch


class PromptEncoder:
    """Processor outputs for (image, prompt) pairs, one per image.

    With one prompt and images of one size, the prompt's tokens (image placeholders included) are the same
    for every image, so after the first image only the image processor runs and the first encoding's text
    tensors are reused: the processor's tokenising and checks dominate ferbench's per-image cost on small
    models. The shortcut is used only if, on the first image, the image processor reproduces exactly the
    processor's image tensors, and for each later image its size-dependent outputs (grids, sizes) equal the
    first's; otherwise every image goes through the full processor.
    """

    def __init__(self, processor: Any, text: str):
        self.processor, self.text = processor, text
        self.image_processor = getattr(processor, "image_processor", None)
        self.shortcut: bool | None = None  # decided on the first image seen

    def full(self, image: Any) -> dict[str, Any]:
        # text as a plain string: some remote-code processors (Phi-3.5-Vision) take no list
        enc = dict(self.processor(images=[image], text=self.text, return_tensors="pt"))
        enc.pop("labels", None)  # PaliGemma's processor adds training labels: the model would compute a loss
        return enc

    def __call__(self, images: Sequence[Any]) -> list[dict[str, Any]]:
        first = self.full(images[0])
        if self.shortcut is None:
            probe = self._image_part(images[0])
            self.shortcut = probe is not None and probe.keys() <= first.keys() and all(
                _same(v, first[k]) for k, v in probe.items())
        if not self.shortcut:
            return [first] + [self.full(im) for im in images[1:]]
        out = [first]
        for im in images[1:]:
            part = self._image_part(im)
            same_size = all(_same(v, first[k]) for k, v in part.items() if "pixel" not in k)
            out.append({**first, **part} if same_size else self.full(im))
        return out

    def _image_part(self, image: Any) -> dict[str, Any] | None:
        if self.image_processor is None:
            return None
        return dict(self.image_processor(images=[image], return_tensors="pt"))


def _same(a: Any, b: Any) -> bool:
    if torch.is_tensor(a) and torch.is_tensor(b):
        return a.shape == b.shape and bool(torch.equal(a, b))
    return not torch.is_tensor(a) and not torch.is_tensor(b) and a == b


def sequence_keys(enc: Mapping[str, Any]) -> list[str]:
    """Keys holding one value per token: 2-D tensors shaped like ``input_ids`` that are not image data."""
    shape = enc["input_ids"].shape
    return [k for k, v in enc.items() if torch.is_tensor(v) and v.shape == shape and "pixel" not in k
            and "image" not in k]


def collate(encs: Sequence[Mapping[str, Any]], repeat: int, pad_id: int) -> dict[str, Any]:
    """Stack single-image encodings, each repeated ``repeat`` times (rows i*repeat .. i*repeat+repeat-1)."""
    rows = [e for e in encs for _ in range(repeat)]
    seq = sequence_keys(rows[0])
    length = max(e["input_ids"].shape[1] for e in rows)
    out: dict[str, Any] = {}
    for key in rows[0].keys():
        values = [e[key] for e in rows]
        if key in seq:
            fill = pad_id if key == "input_ids" else 0
            out[key] = torch.cat([torch.nn.functional.pad(v, (length - v.shape[1], 0), value=fill) for v in values])
        elif torch.is_tensor(values[0]):
            out[key] = torch.cat(values)
        else:
            out[key] = values[0] if all(v == values[0] for v in values) else values
    return out


def append_tokens(batch: Mapping[str, Any], tokens: torch.Tensor, mask: torch.Tensor,
                  suffix_type: int = 0) -> dict[str, Any]:
    """Append R×A ``tokens`` (``mask`` 1 where real) after every row. Other per-token tensors get ``0`` for
    the new tokens, except ``token_type_ids`` which gets ``suffix_type`` (PaliGemma marks its answer
    tokens with 1: prefix-LM attention)."""
    seq = sequence_keys(batch)
    out = dict(batch)
    for key in seq:
        if key == "input_ids":
            extra = tokens
        elif key == "attention_mask":
            extra = mask
        else:
            extra = torch.full_like(tokens, suffix_type if key == "token_type_ids" else 0) * mask
        out[key] = torch.cat([batch[key], extra.to(batch[key].dtype)], dim=1)
    return out


def answer_block(answers: Sequence[Sequence[int]], images: int, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(images·K)×A token ids and mask: for every image, the K answers right-padded to the longest."""
    width = max(len(a) for a in answers)
    ids = torch.full((len(answers), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(answers), width), dtype=torch.long)
    for i, a in enumerate(answers):
        ids[i, :len(a)] = torch.tensor(a, dtype=torch.long)
        mask[i, :len(a)] = 1
    return ids.repeat(images, 1), mask.repeat(images, 1)


def answer_loglik(logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor, reduce: str) -> torch.Tensor:
    """Per-row log-likelihood of the answer tokens. ``logits``: R×(A+1)×V, the predictions at the last
    prefix position and every answer position; the prediction for answer token j is at position j."""
    logp = torch.log_softmax(logits[:, :tokens.shape[1]].float(), dim=-1)
    per_token = logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1) * mask
    total = per_token.sum(dim=1)
    return total / mask.sum(dim=1) if reduce == "mean" else total
