"""Smart dispatch (智能分拨): which department should handle a ticket, and where it is.

* :mod:`chalicelib.dispatch.predictor` recommends departments with calibrated probabilities and
  says when the model may dispatch by itself (numpy + jieba only; no scikit-learn).
* :mod:`chalicelib.dispatch.jurisdiction` finds the district (属地) from the address and text.
* :mod:`chalicelib.dispatch.artifact` (de)serializes a trained model to a directory or bytes.
* :mod:`chalicelib.dispatch.training` fits a model with scikit-learn (training only).
* ``python -m chalicelib.dispatch`` is the command line (train, evaluate, cross-validate,
  districts).

Importing this package imports neither scikit-learn nor jieba: the API functions stay light, and
the model's dependencies load once, lazily, when a prediction is first needed.
"""
from __future__ import annotations

__all__ = ["artifact", "jurisdiction", "predictor"]
