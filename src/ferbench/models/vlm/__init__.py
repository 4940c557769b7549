"""Vision-language models: CLIP-family zero-shot, probes and fine-tuning; generative VLMs; OpenAI-compatible
servers; CNN+VLM late fusion. Importing this package registers every entry (the model registry imports it);
heavy libraries (open_clip, transformers, httpx) are imported only when a model is loaded."""

from . import classifier, clip, generative, hybrid, remote  # noqa: F401  (registration side effects)
