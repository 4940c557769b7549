"""Prompt data: class names and answers are mapped onto FER order by name, never by position."""

import numpy as np
import pytest

from ferbench.emotions import EMOTIONS
from ferbench.models.vlm.prompts import (catalogue, clip_classnames, clip_templates, fer_table,
                                         prediction_from_answers, vlm_prompt)


def test_clip_alphabetical_list_maps_by_name():
    # CLIP's own FER-2013 list is alphabetical: position 4 is "neutral", FER index 4 is "sad".
    names = clip_classnames(["angry", "disgusted", "fearful", "happy", "neutral", "sad", "surprised"])
    assert list(names) == list(EMOTIONS)
    assert names["sad"] == ["sad"] and names["neutral"] == ["neutral"] and names["disgust"] == ["disgusted"]
    assert clip_classnames("clip") == names


def test_any_order_gives_the_same_table():
    table = {"neutral": ["calm"], "happy": "smiling", "angry": ["furious"], "sad": ["sad"], "fear": ["scared"],
             "surprise": ["shocked"], "disgust": ["disgusted"]}
    forward = clip_classnames(table)
    backward = clip_classnames(dict(reversed(list(table.items()))))
    assert forward == backward and list(forward) == list(EMOTIONS)
    assert forward["happy"] == ["smiling"]


@pytest.mark.parametrize("table, message", [
    (["angry", "disgust", "fear", "happy", "sad", "surprise"], "no entry for neutral"),
    (["angry", "anger", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
     "'angry' and 'anger' both name 'angry'"),
    (["angry", "disgust", "fear", "happy", "sad", "surprise", "contempt"], "not a FER emotion"),
    ({**{e: [e] for e in EMOTIONS}, "happy": ["happy", "sad"]}, "names 'sad'"),
])
def test_bad_tables_are_errors(table, message):
    with pytest.raises(ValueError, match=message):
        clip_classnames(table)


def test_templates_packaged_and_from_file(tmp_path):
    assert clip_templates("simple") == ["a photo of a {} face."]
    assert len(clip_templates("ensemble")) == len(clip_templates("clip_fer2013")) + len(clip_templates("fer_lowres"))
    path = tmp_path / "mine.yaml"
    path.write_text("- 'a {} person.'\n- 'someone {}.'\n")
    assert clip_templates(str(path)) == ["a {} person.", "someone {}."]
    path.write_text("- 'no placeholder'\n")
    with pytest.raises(ValueError, match="each with"):
        clip_templates(str(path))
    with pytest.raises(ValueError, match="unknown prompt set"):
        clip_templates("nope")


def test_vlm_prompts(tmp_path):
    p = vlm_prompt("feel")
    assert p.answers[EMOTIONS.index("surprise")] == "surprised" and p.answers[EMOTIONS.index("fear")] == "afraid"
    assert "angry, disgusted, afraid, happy, sad, surprised, neutral" in p.question
    path = tmp_path / "q.yaml"
    path.write_text("question: 'Mood? {labels}'\nanswers: {neutral: calm, sad: down, happy: glad, angry: mad, "
                    "fear: scared, surprise: shocked, disgust: grossed}\n")
    q = vlm_prompt(str(path))
    assert q.answers == ("mad", "grossed", "scared", "glad", "down", "shocked", "calm")
    assert q.question == "Mood? mad, grossed, scared, glad, down, shocked, calm"
    assert set(catalogue()["vlm_prompts"]) >= {"one_word", "choice", "feel", "low_quality", "open"}


def test_fer_table_rejects_shared_answers(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text("question: 'x'\nanswers: {angry: a, disgust: a, fear: b, happy: c, sad: d, surprise: e, "
                    "neutral: f}\n")
    with pytest.raises(ValueError, match="share an answer"):
        vlm_prompt(str(path))
    assert list(fer_table({e: i for i, e in enumerate(reversed(EMOTIONS))}, "t").values()) == [6, 5, 4, 3, 2, 1, 0]


def test_free_text_answers_counted_never_guessed():
    texts = ["Happy.", "The person looks angry", "no idea", "sad or happy", "not happy, neutral", ""]
    p = prediction_from_answers(texts)
    assert p.pred.tolist() == [3, 0, -1, -1, 6, -1]
    assert p.extra["unparsed"] == 3
    assert np.isnan(p.proba[p.pred < 0]).all() and p.raw == texts
