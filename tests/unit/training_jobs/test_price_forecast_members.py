"""Each forecast member's ONNX gives what scikit-learn / torch give, as serving will run it."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from learnloop.market.forecast.features import FEATURE_NAMES
from learnloop.models.kinds import ArtifactRejectedError, check_price_forecast
from training_jobs.price_forecast.members import GradientBoostingMember, LSTMMember

K = len(FEATURE_NAMES)


def data(n: int = 300, window: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (n, K)) * np.linspace(0.01, 5.0, K)  # columns of very different scale
    y = 0.01 * np.tanh(X[:, 0]) + rng.normal(0, 0.02, n)
    S = np.stack([np.roll(X, shift, axis=0) for shift in range(window - 1, -1, -1)], axis=1)
    return X, S.astype(np.float32), y


def run(model: bytes, inputs: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    [out] = session.run(None, {session.get_inputs()[0].name: inputs.astype(np.float32)})
    return np.asarray(out, dtype=np.float64).reshape(-1)


def test_the_gbm_onnx_equals_scikit_learn() -> None:
    X, _, y = data()
    member = GradientBoostingMember(n_estimators=30).fit(X, y)
    served = run(member.to_onnx(list(FEATURE_NAMES)), X)
    np.testing.assert_allclose(served, member.predict(X), atol=1e-6)
    assert np.std(served) > 0  # it learned something, so the comparison means something


def test_the_lstm_onnx_equals_torch_for_any_batch_size() -> None:
    _, S, y = data()
    member = LSTMMember(hidden_size=8, max_epochs=3).fit(S, y)
    model = member.to_onnx()
    for rows in (slice(0, 1), slice(0, 7), slice(None)):
        np.testing.assert_allclose(run(model, S[rows]), member.predict(S[rows]), atol=1e-5)
    assert np.std(member.predict(S)) > 0


def test_the_price_forecast_kind_accepts_both_and_rejects_a_wrong_window() -> None:
    X, S, y = data()
    files = {
        "gbm.onnx": GradientBoostingMember(n_estimators=5).fit(X, y).to_onnx(list(FEATURE_NAMES)),
        "lstm.onnx": LSTMMember(hidden_size=4, max_epochs=1).fit(S, y).to_onnx(),
    }
    manifest = {
        "feature_names": list(FEATURE_NAMES),
        "extra": {
            "kind": "price_forecast",
            "symbol": "BTC-USD",
            "window": 8,
            "weights": {"gbm": 0.4, "lstm": 0.6},
            "quantiles": {"gbm": 1.2, "lstm": 1.3, "ensemble": 1.25},
        },
    }
    check_price_forecast(files, manifest)
    manifest["extra"]["window"] = 9
    with pytest.raises(ArtifactRejectedError, match=r"lstm\.onnx must take"):
        check_price_forecast(files, manifest)
