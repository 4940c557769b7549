"""``ferbench train`` settings: every TrainConfig field reachable as KEY=VALUE over a recipe."""

from __future__ import annotations

import pytest

from ferbench.train.settings import apply_settings, setting_names, train_config


def test_settings_override_the_recipe_with_typed_values():
    recipe = {"model": "fernet", "lr": 0.1, "augment": {"hflip": False}}
    cfg = train_config("x.csv", recipe, {"lr": "3e-4", "mixup": "0.2", "augment.cutmix": "1", "devices": "2",
                                         "label-smoothing": "0", "early_stopping": "null"})
    assert (cfg.model, cfg.lr, cfg.devices, cfg.label_smoothing, cfg.early_stopping) == ("fernet", 3e-4, "2", 0, None)
    assert (cfg.augment.hflip, cfg.augment.mixup, cfg.augment.cutmix) == (False, 0.2, 1.0)
    assert recipe == {"model": "fernet", "lr": 0.1, "augment": {"hflip": False}}  # the recipe is not changed


def test_every_config_field_is_a_setting_and_unknown_ones_are_refused():
    assert {"epochs", "batch_size", "augment.mixup", "max_minutes"} <= set(setting_names())
    with pytest.raises(ValueError, match="training setting 'lrate' is unknown; settings: model"):
        apply_settings({}, {"lrate": "1"})
