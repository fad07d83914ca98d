"""Fitted scikit-learn estimators as ONNX: what the trainers publish (training side only).

:func:`to_onnx` imports skl2onnx, :func:`onnx_predict` onnxruntime; serving never imports this
module (an import-linter contract keeps it so): it loads the published bytes through
:mod:`learnloop.models.cache`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from learnloop.exceptions import NotFittedError, ValidationError
from learnloop.models.artifacts import INPUT_NAME, MAX_IR_VERSION, ML_OPSET, TARGET_OPSET

if TYPE_CHECKING:
    import numpy as np


def to_onnx(estimator: Any, feature_names: Sequence[str]) -> bytes:
    """A fitted scikit-learn estimator as serialized ONNX that onnxruntime >= 1.16 loads.

    The graph's input is named ``"features"``, float32 of shape ``[None, n_features]``.
    Regressors output ``"variable"`` (shape ``[None, 1]``); classifiers output ``"label"`` and
    ``"probabilities"`` (shape ``[None, n_classes]``, a plain tensor: no ZipMap). The feature
    names are stored in the model's metadata as JSON under ``"feature_names"``.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Fitted, with ``n_features_in_ == len(feature_names)``.
    feature_names : sequence of str
        The input columns, in order.

    Returns
    -------
    bytes
        The serialized ``ModelProto`` (opset 17, ai.onnx.ml 3, IR version <= 9).

    Raises
    ------
    NotFittedError
        When ``estimator`` is not fitted.
    ValidationError
        When the number of feature names differs from the estimator's inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> X = np.arange(8, dtype=np.float32).reshape(4, 2)
    >>> model = to_onnx(Ridge().fit(X, X.sum(axis=1)), ["a", "b"])
    >>> onnx_predict(model, X[:1]).shape
    (1,)
    """
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is None:
        raise NotFittedError(f"{type(estimator).__name__} is not fitted; nothing to export")
    names = list(feature_names)
    if len(names) != n_features:
        raise ValidationError(
            f"{len(names)} feature names for an estimator of {n_features} features",
            details=[{"field": "feature_names", "message": f"expected {n_features} names"}],
        )
    options = {id(estimator): {"zipmap": False}} if hasattr(estimator, "predict_proba") else None
    model = convert_sklearn(
        estimator,
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        target_opset={"": TARGET_OPSET, "ai.onnx.ml": ML_OPSET},
        options=options,
    )
    # skl2onnx may list a domain twice; keep one entry per domain, at its highest version.
    opsets: dict[str, int] = {}
    for entry in model.opset_import:
        opsets[entry.domain] = max(opsets.get(entry.domain, 0), entry.version)
    del model.opset_import[:]
    for domain, version in opsets.items():
        model.opset_import.add(domain=domain, version=version)
    model.ir_version = min(model.ir_version, MAX_IR_VERSION)
    entry = model.metadata_props.add()
    entry.key, entry.value = "feature_names", json.dumps(names)
    return model.SerializeToString()


def onnx_predict(model_bytes: bytes, X: np.ndarray) -> np.ndarray:
    """Run serialized ONNX on ``X`` with onnxruntime (for tests and benchmarks).

    Parameters
    ----------
    model_bytes : bytes
        A model from :func:`to_onnx`.
    X : numpy.ndarray
        Shape ``(n, n_features)``; cast to float32.

    Returns
    -------
    numpy.ndarray
        Class probabilities of shape ``(n, n_classes)`` when the model has a
        ``"probabilities"`` output (as ``predict_proba``), else its first output flattened to
        shape ``(n,)`` (as a regressor's ``predict``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]], dtype=np.float32)
    >>> model = to_onnx(LogisticRegression().fit(X, [0, 0, 1, 1]), ["x"])
    >>> onnx_predict(model, X).shape
    (4, 2)
    """
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    inputs = {session.get_inputs()[0].name: np.asarray(X, dtype=np.float32)}
    if "probabilities" in outputs:
        return session.run(["probabilities"], inputs)[0]
    result = session.run([outputs[0]], inputs)[0]
    return result.reshape(len(result))


__all__ = ["onnx_predict", "to_onnx"]
