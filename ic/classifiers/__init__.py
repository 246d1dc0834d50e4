"""Classifiers: which there are (registry.py), how their models load (loaders.py), the loaded classifier and
its cache (classifier.py), and the ONNX Runtime fast path (fastpath.py)."""

from ic.classifiers.classifier import (
    MAX_BATCH,
    Classifier,
    exported,
    forget_loaded,
    get_classifier,
    is_loaded,
    load_classifier,
    loading_step,
    usual_load_s,
)
from ic.classifiers.loaders import read_checkpoint
from ic.classifiers.registry import (
                                     BUNDLED,
                                     CURATED_HUB,
                                     DEFAULT_MODEL,
                                     LOCAL_PREFIX,
                                     PREPROCESS_MODES,
                                     PREPROCESS_TITLES,
                                     ModelChoice,
                                     list_choices,
                                     resolve_choice,
)

__all__ = ["BUNDLED", "CURATED_HUB", "DEFAULT_MODEL", "LOCAL_PREFIX", "MAX_BATCH", "PREPROCESS_MODES", "PREPROCESS_TITLES", "Classifier",
           "ModelChoice", "exported", "forget_loaded", "get_classifier", "is_loaded", "list_choices", "load_classifier",
           "loading_step", "usual_load_s", "read_checkpoint", "resolve_choice"]
