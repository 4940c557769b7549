import pytest

from ferbench.emotions import EMOTIONS, FERPLUS, FERPLUS_TO_FER, INDEX, parse_answer, to_emotion, to_index


def test_fer_order_is_the_kaggle_code_order():
    assert EMOTIONS == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert [INDEX[e] for e in EMOTIONS] == list(range(7))
    assert list(EMOTIONS) != sorted(EMOTIONS)  # alphabetical order would be a different mapping


def test_ferplus_vocabulary_maps_into_fer_both_ways():
    assert FERPLUS[:8] == ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
    mapped = {v for v in FERPLUS_TO_FER.values() if v}
    assert mapped == set(EMOTIONS)  # every FER class reachable from FER+
    for name, fer in FERPLUS_TO_FER.items():
        if fer is not None:
            assert to_emotion(name) == fer  # the alias map agrees with the FER+ table
    assert FERPLUS_TO_FER["contempt"] is None and FERPLUS_TO_FER["unknown"] is None and FERPLUS_TO_FER["NF"] is None


@pytest.mark.parametrize("text,expected", [
    ("anger", "angry"), ("Angry", "angry"), ("angry face", "angry"), ("ANGRY", "angry"), ("AN", "angry"),
    ("happiness", "happy"), ("Happy", "happy"), ("smiling", "happy"), ("3_happy", "happy"),
    ("surprised", "surprise"), ("sadness", "sad"), ("fearful", "fear"), ("scared", "fear"),
    ("disgusted", "disgust"), ("calm", "neutral"), ("Neutral expression", "neutral"), ("0-angry", "angry"),
])
def test_aliases(text, expected):
    assert to_emotion(text) == expected


@pytest.mark.parametrize("text", ["contempt", "unknown", "NF", "cat", "", "happy sad"])
def test_non_emotions_map_to_none(text):
    assert to_emotion(text) is None


def test_every_canonical_name_maps_to_itself_and_its_index():
    for i, e in enumerate(EMOTIONS):
        assert to_emotion(e) == e and to_index(e) == i
    with pytest.raises(KeyError, match="not a FER-2013 emotion"):
        to_index("contempt")


@pytest.mark.parametrize("answer,expected", [
    ("The person looks happy.", "happy"),
    ("Answer: Surprise", "surprise"),
    ("This face shows anger.", "angry"),
    ("I think the expression is one of sadness", "sad"),
    ("The face has no expression", "neutral"),
    ("happy or sad, hard to tell", None),  # two emotions: never guess
    ("not happy", None),
    ("I cannot tell", None),
    ("an apple", None),  # the article 'an' is not the JAFFE code for angry inside a sentence
])
def test_parse_answer(answer, expected):
    assert parse_answer(answer) == expected


def test_two_letter_codes_count_only_as_a_whole_answer():
    assert parse_answer("AN") == "angry" and parse_answer("ha") == "happy"
    assert parse_answer("ha, that is funny") is None


def test_denied_emotions_are_not_the_answer():
    assert parse_answer("There is no fear in this face") is None
    assert parse_answer("no fear, just surprise") == "surprise"


def test_multi_word_synonyms_survive_filler_words():
    assert to_emotion("the grossed out look") == "disgust"
    assert to_emotion("a face with no expression") is None  # "with" is not a filler: not a label
    assert to_emotion("no_expression") == "neutral"


def test_unknown_name_error_lists_the_vocabulary():
    with pytest.raises(KeyError, match="angry, disgust, fear, happy, sad, surprise, neutral"):
        to_index("cat")
