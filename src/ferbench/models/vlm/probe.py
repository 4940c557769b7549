"""Linear probe and few-shot on frozen CLIP-family image embeddings (scikit-learn logistic regression).

Train on Training (all of it, or ``shots`` per class drawn with a seed), choose the regularisation ``C`` on
PublicTest, and write the result as a :class:`ClipClassifier` checkpoint: the head is the regression
itself (the classifier normalises the embedding exactly as here), its rows placed by ``classes_`` so a
class missing from the training data is an error, never a shifted row.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from ...cost import PhaseMeter
from ...data.dataset import Dataset
from ...emotions import EMOTIONS, NUM_CLASSES
from ...utils.io import cache_dir, sha256_json, write_bytes
from ..predictor import Predictor
from ..preprocess import to_tensor
from ..torch_predictor import TorchPredictor
from .classifier import ClipClassifier, state_digest

DEFAULT_CS = (0.01, 0.1, 1.0, 10.0, 100.0)


def clip_module(predictor: Predictor) -> TorchPredictor:
    """The predictor, checked to be a CLIP-family classifier (zero-shot, probe or fine-tuned)."""
    if not isinstance(predictor, TorchPredictor) or not isinstance(predictor.module, ClipClassifier):
        raise ValueError(f"{predictor.name}: probes and fine-tuning need a CLIP-family model (clip, hf_clip, siglip "
                         f"or a clip_classifier checkpoint)")
    return predictor


@torch.inference_mode()
def embed(predictor: TorchPredictor, images: np.ndarray, batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """N×D normalised image embeddings."""
    from ...utils.progress import progress_bar

    module: ClipClassifier = predictor.module.eval()
    out = []
    with progress_bar(transient=True) as bar:
        task = bar.add_task("embedding", total=len(images), rate="", visible=progress)
        for lo in range(0, len(images), batch_size):
            x = to_tensor(images[lo:lo + batch_size], predictor.config.preprocess).to(predictor.device)
            out.append(module.embed(x).cpu().numpy())
            bar.update(task, advance=len(x))
    return np.concatenate(out) if out else np.zeros((0, module.head.in_features), dtype=np.float32)


def cached_embeddings(predictor: TorchPredictor, ds: Dataset, batch_size: int = 64,
                      progress: bool = True) -> np.ndarray:
    """:func:`embed` on a dataset, cached under the ferbench cache keyed by encoder weights, preprocessing
    and the dataset fingerprint (a second probe on the same data costs no forward pass)."""
    key = sha256_json({"encoder": state_digest(predictor.module.encoder),
                       "preprocess": predictor.config.preprocess.model_dump(), "dataset": ds.fingerprint})
    path = cache_dir("vlm-embeddings") / f"{key}.npy"
    if path.exists():
        return np.load(path)
    x = embed(predictor, ds.images, batch_size, progress)
    import io

    buf = io.BytesIO()
    np.save(buf, x)
    write_bytes(path, buf.getvalue())
    return x


def few_shot_indices(labels: np.ndarray, shots: int, seed: int) -> np.ndarray:
    """``shots`` samples of every FER class, drawn without replacement by a seeded generator."""
    rng = np.random.default_rng(seed)
    picks = []
    for c, emotion in enumerate(EMOTIONS):
        pool = np.flatnonzero(labels == c)
        if len(pool) < shots:
            raise ValueError(f"few-shot: {shots} per class asked, but {emotion!r} has only {len(pool)} "
                             f"training samples")
        picks.append(rng.choice(pool, size=shots, replace=False))
    return np.sort(np.concatenate(picks))


def head_from_logreg(clf: Any, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """7×D weight and 7 bias in FER order, placed by the regression's ``classes_`` (FER indices)."""
    classes = [int(c) for c in clf.classes_]
    missing = [EMOTIONS[c] for c in range(NUM_CLASSES) if c not in classes]
    if missing:
        raise ValueError(f"probe: no training samples of {', '.join(missing)}; every FER class is needed")
    weight, bias = torch.zeros(NUM_CLASSES, dim), torch.zeros(NUM_CLASSES)
    coef, intercept = np.atleast_2d(clf.coef_), np.atleast_1d(clf.intercept_)
    for row, c in enumerate(classes):
        weight[c] = torch.from_numpy(coef[row].astype(np.float32))
        bias[c] = float(intercept[row])
    return weight, bias


def fit_probe(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray,
              cs: Sequence[float] = DEFAULT_CS, seed: int = 0) -> tuple[Any, list[dict[str, float]]]:
    """Logistic regression for each ``C``; the one with the best PublicTest accuracy (ties: the smaller C,
    the stronger regularisation) is returned with the table of every C."""
    from sklearn.linear_model import LogisticRegression

    table, best = [], None
    for c in cs:
        clf = LogisticRegression(C=c, max_iter=3000, random_state=seed).fit(train_x, train_y)
        acc = float((clf.predict(val_x) == val_y).mean()) if len(val_y) else float("nan")
        table.append({"C": c, "val_accuracy": acc})
        if best is None or acc > best[0]:
            best = (acc, clf)
    return best[1], table


def train_probe(predictor: Predictor, train: Dataset, val: Dataset, shots: int | None = None, seed: int = 0,
                cs: Sequence[float] = DEFAULT_CS, batch_size: int = 64,
                progress: bool = True) -> tuple[ClipClassifier, dict]:
    """A new :class:`ClipClassifier` (same encoder, probe head) and a report (C table, sizes, cost)."""
    tp = clip_module(predictor)
    if shots is not None:
        train = train.subset(few_shot_indices(train.labels, shots, seed))
    with PhaseMeter("embedding", items=len(train) + len(val)) as m_embed:
        train_x = cached_embeddings(tp, train, batch_size, progress)
        val_x = cached_embeddings(tp, val, batch_size, progress)
    with PhaseMeter("training", items=len(train)) as m_fit:
        clf, table = fit_probe(train_x, train.labels, val_x, val.labels, cs, seed)
    weight, bias = head_from_logreg(clf, train_x.shape[1])
    module = ClipClassifier(tp.module.encoder, train_x.shape[1])
    with torch.no_grad():
        module.head.weight.copy_(weight)
        module.head.bias.copy_(bias)
    report = {"method": "few_shot" if shots else "linear_probe", "shots": shots, "seed": seed, "n_train": len(train),
              "n_val": len(val), "C": float(clf.C), "C_table": table,
              "val_accuracy": max(r["val_accuracy"] for r in table),
              "cost": {"embedding": m_embed.result, "training": m_fit.result}}
    return module, report
