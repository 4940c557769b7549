"""The one emotion vocabulary of ferbench, in FER-2013 order, and every mapping into it.

Class indices everywhere in ferbench are positions in :data:`EMOTIONS`. Nothing may rely on the
alphabetical order of class names (``torchvision.datasets.ImageFolder`` does; we never use its indices).
"""

from __future__ import annotations

import re

#: FER-2013 order: the ``emotion`` codes 0..6 of the Kaggle CSV.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)
INDEX: dict[str, int] = {name: i for i, name in enumerate(EMOTIONS)}

#: FER+ vote columns, in the order of ``fer2013new.csv``.
FERPLUS: tuple[str, ...] = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF",
)
#: FER+ column -> FER-2013 emotion; ``None`` for columns that have no FER-2013 class.
FERPLUS_TO_FER: dict[str, str | None] = {
    "neutral": "neutral", "happiness": "happy", "surprise": "surprise", "sadness": "sad",
    "anger": "angry", "disgust": "disgust", "fear": "fear",
    "contempt": None, "unknown": None, "NF": None,
}

# Free-text and folder-name synonyms. Keys are normalised (lower case, single spaces).
_ALIASES: dict[str, str] = {}
for _canonical, _words in {
    "angry": ["angry", "anger", "angered", "mad", "furious", "rage", "annoyed", "irritated", "an", "ang"],
    "disgust": ["disgust", "disgusted", "disgusting", "disgusts", "revulsion", "grossed out", "di", "dis"],
    "fear": ["fear", "fearful", "afraid", "scared", "frightened", "terrified", "anxious", "fe", "fea"],
    "happy": ["happy", "happiness", "joy", "joyful", "smiling", "smile", "glad", "cheerful", "ha", "hap"],
    "sad": ["sad", "sadness", "unhappy", "sorrow", "sorrowful", "crying", "depressed", "upset", "sa"],
    "surprise": ["surprise", "surprised", "surprising", "astonished", "amazed", "shocked", "su", "sur"],
    "neutral": ["neutral", "calm", "expressionless", "no expression", "blank", "neutrality", "ne", "neu"],
}.items():
    for _w in _words:
        _ALIASES[_w] = _canonical

# Words that decorate a label without changing it ("an angry face", "Happy expression.").
_FILLER = {"a", "an", "the", "face", "faces", "facial", "expression", "expressions", "emotion", "look",
           "looking", "person", "is", "it", "this", "looks", "very", "slightly", "class", "label"}
# Two-letter codes like "an" collide with English articles, so they only count as a whole answer.
_CODE_ONLY = {w for w in _ALIASES if len(w) <= 3 and w not in EMOTIONS and w not in ("mad", "joy", "sad")}


def _normalise(text: str) -> str:
    text = text.lower().replace("_", " ").replace("-", " ")
    text = re.sub(r"^\s*\d+\s*[.:)]?\s*", "", text)  # "3_happy", "3. happy" folder prefixes
    return " ".join(re.sub(r"[^a-z ]+", " ", text).split())


def to_emotion(name: str) -> str | None:
    """Map a class/folder name or short label (``"Happiness"``, ``"angry face"``, ``"3_happy"``) to a
    FER emotion, or ``None`` when it is not one of them (``"contempt"``, ``"unknown"``)."""
    norm = _normalise(str(name))
    if norm in _ALIASES:
        return _ALIASES[norm]
    words = [w for w in norm.split() if w not in _FILLER]
    phrase = " ".join(words)
    if phrase in _ALIASES:
        return _ALIASES[phrase]
    return None


def to_index(name: str) -> int:
    """Like :func:`to_emotion` but returns the FER index and raises ``KeyError`` for unknown names."""
    emotion = to_emotion(name)
    if emotion is None:
        raise KeyError(f"{name!r} is not a FER-2013 emotion or a known synonym of one ({', '.join(EMOTIONS)})")
    return INDEX[emotion]


def parse_answer(text: str) -> str | None:
    """Find the emotion in a free-text answer ("The person looks happy."). Returns ``None`` when no
    emotion or more than one distinct emotion is mentioned, so that an ambiguous answer is never guessed."""
    whole = to_emotion(text)
    if whole is not None:
        return whole
    norm = _normalise(text)
    words = norm.split()
    found: set[str] = set()
    # Two-word synonyms first ("no expression", "grossed out"), then single words.
    for n in (2, 1):
        for i in range(len(words) - n + 1):
            gram = " ".join(words[i:i + n])
            if gram in _ALIASES and gram not in _CODE_ONLY:
                found.add(_ALIASES[gram])
    # "not happy" names an emotion it denies: never count it as the answer.
    found -= {_ALIASES[w] for i, w in enumerate(words) if i and words[i - 1] in ("not", "no") and w in _ALIASES}
    return found.pop() if len(found) == 1 else None
