"""Losses beyond cross-entropy: knowledge distillation (Hinton et al. 2015) and the AugMix consistency term.

All take logits and reduce by the mean over the batch, so they add to ``F.cross_entropy``'s mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def temper(probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Stored teacher probabilities at temperature T: softmax(z / T) = normalise(p ** (1 / T)), computed in the
    log domain; classes the teacher gave probability 0 stay at 0."""
    logp = probs.clamp_min(0).log() / temperature
    return torch.softmax(logp, dim=1)


def distillation_kl(student_logits: torch.Tensor, teacher_probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """T² · KL(teacher_T ‖ student_T), mean over the batch. The T² keeps its gradient on the scale of the
    hard-label term as T changes (Hinton et al.)."""
    target = temper(teacher_probs, temperature)
    log_student = F.log_softmax(student_logits / temperature, dim=1)
    kl = F.kl_div(log_student, target, reduction="batchmean")
    return kl * temperature ** 2


def js_divergence(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence between the two views' predicted distributions (natural log), mean over the batch:
    ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q) / 2. AugMix's consistency loss for two views."""
    p, q = logits_a.softmax(dim=1), logits_b.softmax(dim=1)
    log_m = ((p + q) / 2).clamp_min(1e-7).log()
    return (F.kl_div(log_m, p, reduction="batchmean") + F.kl_div(log_m, q, reduction="batchmean")) / 2


def mix_targets(base: torch.Tensor, votes: torch.Tensor, has_votes: torch.Tensor, weight: float) -> torch.Tensor:
    """(1 - w) · base + w · vote distribution, per row (``base``: one-hot labels or soft targets, N×K); rows without
    votes keep ``base``."""
    w = weight * has_votes.float()[:, None]
    return (1 - w) * base + w * votes
