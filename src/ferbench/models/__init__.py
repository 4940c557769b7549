"""Models: one registry for every kind (trained CNNs, imported Keras models, VLMs, hybrids).

``create_model(name, **kw)`` builds a trainable ``torch.nn.Module`` for trainable families;
``load_predictor(name, weights=...)`` returns a :class:`Predictor` for any model, ready to evaluate.
"""

from .factory import create_model, load_predictor
from .predictor import Prediction, Predictor
from .registry import get_model_entry, list_models, register_model

__all__ = ["Prediction", "Predictor", "create_model", "get_model_entry", "list_models", "load_predictor",
           "register_model"]
