"""Prompts as data (``prompts/*.yaml``): CLIP template sets and class names, generative-VLM questions.

Every class-name or answer table is re-keyed onto :data:`ferbench.emotions.EMOTIONS` *by name* through
:func:`ferbench.emotions.to_emotion`: a table written in any order (CLIP's FER-2013 list is alphabetical)
lands in FER order, and a table that misses an emotion, names one twice or lists a synonym of another
emotion is an error, never a silent mis-mapping.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from ...emotions import EMOTIONS, to_emotion

PROMPT_DIR = Path(__file__).parent / "prompts"


@functools.cache
def _packaged(kind: str) -> dict[str, Any]:
    return yaml.safe_load((PROMPT_DIR / f"{kind}.yaml").read_text())


def _named(kind: str, section: str, spec: str, what: str) -> Any:
    """A packaged entry ``spec`` of ``kind.yaml``'s ``section``, else the YAML file at path ``spec``."""
    data = _packaged(kind)[section]
    if spec in data:
        return data[spec]
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ValueError(f"unknown {what} {spec!r}: not a file, nor one of {', '.join(data)}")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None


def fer_table(table: Mapping[str, Any] | Sequence[str], what: str) -> dict[str, Any]:
    """``{name: value}`` (or a list of names, each its own value) -> ``{emotion: value}`` in FER order."""
    items = list(table.items()) if isinstance(table, Mapping) else [(name, name) for name in table]
    out: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for name, value in items:
        emotion = to_emotion(str(name))
        if emotion is None:
            raise ValueError(f"{what}: {name!r} is not a FER emotion or a known synonym ({', '.join(EMOTIONS)})")
        if emotion in out:
            raise ValueError(f"{what}: {seen[emotion]!r} and {name!r} both name {emotion!r}")
        out[emotion], seen[emotion] = value, str(name)
    missing = [e for e in EMOTIONS if e not in out]
    if missing:
        raise ValueError(f"{what}: no entry for {', '.join(missing)}")
    return {e: out[e] for e in EMOTIONS}


def clip_templates(spec: str) -> list[str]:
    """A packaged template set (``simple``, ``clip_fer2013``, ``fer_lowres``, ``ensemble``) or a YAML file
    holding a list of templates."""
    templates = _named("clip", "templates", spec, "prompt set")
    if not isinstance(templates, list) or not templates or not all(isinstance(t, str) and "{}" in t for t in templates):
        raise ValueError(f"prompt set {spec!r}: expected a list of templates, each with '{{}}' for the class name")
    return templates


def clip_classnames(spec: str | Mapping[str, Any] | Sequence[str]) -> dict[str, list[str]]:
    """Names per emotion, FER order. ``spec``: a packaged set (``clip``, ``fer``, ``synonyms``), a YAML file,
    a mapping ``{name: [synonyms]}`` or a list of names, in any order."""
    table = _named("clip", "classnames", spec, "class-name set") if isinstance(spec, str) else spec
    what = f"class names {spec!r}" if isinstance(spec, str) else "class names"
    names = {e: [v] if isinstance(v, str) else list(v) for e, v in fer_table(table, what).items()}
    for emotion, synonyms in names.items():
        for synonym in synonyms:
            other = to_emotion(synonym)
            if other is not None and other != emotion:  # "sad" listed under happy: a typo, not a synonym
                raise ValueError(f"{what}: {synonym!r} is listed for {emotion!r} but names {other!r}")
    return names


@dataclass(frozen=True)
class VlmPrompt:
    """A question and the 7 answer texts, FER order."""

    name: str
    question: str
    answers: tuple[str, ...]


def vlm_prompt(spec: str) -> VlmPrompt:
    """A packaged prompt (``one_word``, ``choice``, ``feel``, ``low_quality``, ``open``) or a YAML file with
    ``question`` and optionally ``answers``."""
    entry = _named("generative", "prompts", spec, "prompt")
    if not isinstance(entry, Mapping) or not isinstance(entry.get("question"), str):
        raise ValueError(f"prompt {spec!r}: expected a mapping with a 'question' (and optionally 'answers')")
    answers = fer_table(entry.get("answers") or _packaged("generative")["answers"], f"answers of prompt {spec!r}")
    if len(set(answers.values())) != len(answers):
        raise ValueError(f"prompt {spec!r}: two emotions share an answer text")
    question = entry["question"].replace("{labels}", ", ".join(answers.values()))
    return VlmPrompt(name=spec, question=question, answers=tuple(str(a) for a in answers.values()))


def default_prompt(kind: str) -> str:
    return _packaged("generative")["default"] if kind == "generative" else _packaged("clip")["defaults"][kind]


def prompt_format(model_type: str) -> str | None:
    """The text format for ``model_type`` when its processor has no chat template."""
    return _packaged("generative")["formats"].get(model_type)


def catalogue() -> dict[str, list[str]]:
    """Packaged names, for ``--help`` texts and ``ferbench vlm prompts --list``."""
    clip, gen = _packaged("clip"), _packaged("generative")
    return {"clip_templates": list(clip["templates"]), "clip_classnames": list(clip["classnames"]),
            "vlm_prompts": list(gen["prompts"])}


def prediction_from_answers(texts: list[str]):
    """Free-text answers -> a :class:`Prediction`: parsed with :func:`ferbench.emotions.parse_answer`;
    an answer naming no emotion, or several, gets pred -1 and a NaN probability row (``unparsed``)."""
    import numpy as np

    from ...emotions import INDEX, parse_answer
    from ..predictor import Prediction

    parsed = [parse_answer(t) for t in texts]
    pred = np.array([INDEX[p] if p is not None else -1 for p in parsed], dtype=np.int64)
    proba = np.full((len(texts), len(EMOTIONS)), np.nan, dtype=np.float32)
    return Prediction(pred=pred, proba=proba, raw=list(texts), extra={"unparsed": int((pred < 0).sum())})
