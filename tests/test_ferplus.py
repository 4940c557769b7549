"""FER+ labels joined to FER-2013 rows: majority, plurality, soft; exclusions counted by reason."""

import numpy as np
import pytest

from ferbench.data import load_dataset
from ferbench.data.ferplus import apply_ferplus
from ferbench.emotions import FERPLUS, INDEX

HEADER = "Usage,Image name," + ",".join(FERPLUS)


def _votes(tmp_path, rows):
    lines = [HEADER] + [f"Training,{name}," + ",".join(map(str, v)) for name, v in rows]
    path = tmp_path / "fer2013new.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


#               neutral happy surprise sad anger disgust fear contempt unknown NF
ROWS = [
    ("a.png", [0, 8, 2, 0, 0, 0, 0, 0, 0, 0]),    # happy, clear majority
    ("b.png", [4, 0, 0, 4, 1, 0, 0, 0, 1, 0]),    # neutral/sad tie: no majority, tie
    ("c.png", [0, 0, 0, 0, 0, 0, 0, 0, 10, 0]),   # unknown
    ("d.png", [0, 0, 0, 0, 0, 0, 0, 0, 0, 10]),   # not a face
    ("e.png", [2, 0, 0, 0, 0, 0, 0, 8, 0, 0]),    # contempt: no FER class
    ("", [10, 0, 0, 0, 0, 0, 0, 0, 0, 0]),        # dropped by FER+
    ("g.png", [3, 0, 4, 0, 3, 0, 0, 0, 0, 0]),    # surprise by plurality only
]


def test_modes(tmp_path, fer_csv):
    votes = _votes(tmp_path, ROWS)
    ds = load_dataset(fer_csv).select(ids=[str(i) for i in range(7)])
    maj = apply_ferplus(ds, votes, "majority")
    assert maj.ids.tolist() == ["0"] and maj.labels.tolist() == [INDEX["happy"]]
    assert maj.report["ferplus_excluded"] == {"no majority": 2, "winner is unknown": 1, "winner is NF": 1,
                                              "winner is contempt": 1, "dropped by FER+": 1}
    plu = apply_ferplus(ds, votes, "plurality")
    assert plu.ids.tolist() == ["0", "6"] and plu.labels.tolist() == [INDEX["happy"], INDEX["surprise"]]
    assert plu.report["ferplus_excluded"]["tie"] == 1
    soft = apply_ferplus(ds, votes, "soft")
    np.testing.assert_allclose(soft.soft_labels.sum(axis=1), 1.0)
    # Row g: neutral 3, surprise 4, anger 3 (single votes would be dropped as outliers; none here).
    expected = np.zeros(7)
    expected[[INDEX["neutral"], INDEX["surprise"], INDEX["angry"]]] = [0.3, 0.4, 0.3]
    np.testing.assert_allclose(soft.soft_labels[1], expected, atol=1e-6)
    # Row a: the single-vote outlier rule keeps happy 8 and surprise 2.
    np.testing.assert_allclose(soft.soft_labels[0][[INDEX["happy"], INDEX["surprise"]]], [0.8, 0.2], atol=1e-6)
    assert soft.fingerprint != plu.fingerprint


def test_ferplus_needs_csv_row_ids(tmp_path, fer_csv):
    from dataclasses import replace

    from ferbench.data import DataError

    ds = load_dataset(fer_csv)
    renamed = replace(ds, ids=np.array([f"img{i}.png" for i in range(len(ds))]))
    with pytest.raises(DataError, match="join by CSV row number"):
        apply_ferplus(renamed, _votes(tmp_path, ROWS))
    with pytest.raises(DataError, match="has 7 rows but .* has row 69"):
        apply_ferplus(ds, _votes(tmp_path, ROWS))
