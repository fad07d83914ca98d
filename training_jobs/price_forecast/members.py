"""The two forecast members: gradient-boosted trees (scikit-learn) and a small LSTM (PyTorch).

Both predict the next candle's log return and export to ONNX that onnxruntime >= 1.16 loads
(opset 17, IR <= 9, as the repository's other exports); serving runs the ONNX with numpy only.

:class:`GradientBoostingMember` wraps scikit-learn's ``GradientBoostingRegressor`` (Huber loss:
crypto returns have fat tails) and exports with skl2onnx. ``HistGradientBoostingRegressor``
was the first choice, but skl2onnx 1.20 fails to convert it with onnx 1.23 (a boolean in an
integer attribute), so the classic estimator is used. It is fit on float32-rounded features,
as onnxruntime reads them, so the two agree to ~1e-7.

:class:`LSTMMember` is one LSTM layer over the last ``window`` feature rows with a linear head;
the feature standardisation and the target's scale are buffers inside the module, so the ONNX
takes raw features and returns a raw log return. It trains with Adam on the oldest 85 % of its
rows and stops early on the newest 15 % (time order, never shuffled across that cut), then keeps
the best epoch's weights. torch is imported only inside ``fit`` / ``to_onnx``.

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(200, 3))
>>> member = GradientBoostingMember(n_estimators=20).fit(X, X[:, 0] * 0.01)
>>> member.predict(X[:2]).shape
(2,)
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np

from learnloop.exceptions import NotFittedError

__all__ = ["MAX_IR_VERSION", "TARGET_OPSET", "GradientBoostingMember", "LSTMMember"]

TARGET_OPSET = 17
MAX_IR_VERSION = 9


class GradientBoostingMember:
    """Gradient-boosted regression trees on one feature row per candle.

    Parameters
    ----------
    n_estimators, learning_rate, max_depth, subsample, min_samples_leaf
        ``GradientBoostingRegressor``'s; small trees and shrinkage, since the signal is weak.
    random_state : int, default 0
        Seeds the row subsampling.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 150,
        learning_rate: float = 0.03,
        max_depth: int = 3,
        subsample: float = 0.7,
        min_samples_leaf: int = 40,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.subsample = subsample
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> GradientBoostingMember:
        """Fit on ``X`` (rows x features) and log returns ``y``; returns self."""
        from sklearn.ensemble import GradientBoostingRegressor

        started = time.perf_counter()
        self.estimator_ = GradientBoostingRegressor(
            loss="huber",
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            subsample=self.subsample,
            min_samples_leaf=self.min_samples_leaf,
            random_state=self.random_state,
        ).fit(_as_float32(X), np.asarray(y, dtype=np.float64))
        self.n_features_in_ = int(np.asarray(X).shape[1])
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted log returns, shape ``(n,)``."""
        if not hasattr(self, "estimator_"):
            raise NotFittedError("GradientBoostingMember is not fitted")
        return np.asarray(self.estimator_.predict(_as_float32(X)), dtype=np.float64)

    def to_onnx(self, feature_names: list[str]) -> bytes:
        """``features`` float32 ``[batch, k]`` → ``variable`` ``[batch, 1]`` (opset 17)."""
        from learnloop.models.conversion import to_onnx

        if not hasattr(self, "estimator_"):
            raise NotFittedError("GradientBoostingMember is not fitted")
        return to_onnx(self.estimator_, feature_names)


class LSTMMember:
    """A one-layer LSTM over the last ``window`` feature rows.

    Parameters
    ----------
    hidden_size : int, default 16
    max_epochs : int, default 40
    patience : int, default 6
        Epochs without a better validation loss before stopping.
    batch_size : int, default 64
    learning_rate : float, default 3e-3
    weight_decay : float, default 1e-4
    validation_share : float, default 0.15
        The newest share of the rows used for early stopping.
    random_state : int, default 0
        Seeds torch (initial weights, batch order).
    """

    def __init__(
        self,
        *,
        hidden_size: int = 16,
        max_epochs: int = 40,
        patience: int = 6,
        batch_size: int = 64,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-4,
        validation_share: float = 0.15,
        random_state: int = 0,
    ) -> None:
        self.hidden_size = hidden_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_share = validation_share
        self.random_state = random_state

    def fit(self, sequences: np.ndarray, y: np.ndarray) -> LSTMMember:
        """Fit on ``sequences`` ``[n, window, k]`` and log returns ``y``; returns self."""
        import torch

        started = time.perf_counter()
        S = np.asarray(sequences, dtype=np.float32)
        target = np.asarray(y, dtype=np.float32)
        n, window, k = S.shape
        cut = max(1, round(n * (1.0 - self.validation_share)))
        flat = S[:cut].reshape(-1, k)
        mean, std = flat.mean(axis=0), flat.std(axis=0)
        std = np.where(std > 1e-8, std, 1.0).astype(np.float32)
        y_mean, y_std = float(target[:cut].mean()), float(target[:cut].std() or 1.0)
        torch.manual_seed(self.random_state)
        generator = torch.Generator().manual_seed(self.random_state)
        module = _module(k, self.hidden_size, mean, std, y_mean, y_std)
        optimiser = torch.optim.Adam(
            module.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        S_t, y_t = torch.from_numpy(S), torch.from_numpy(target)
        train_S, train_y, val_S, val_y = S_t[:cut], y_t[:cut], S_t[cut:], y_t[cut:]
        best, best_state, stale, epochs = np.inf, None, 0, 0
        for _ in range(self.max_epochs):
            epochs += 1
            module.train()
            order = torch.randperm(len(train_S), generator=generator)
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                optimiser.zero_grad()
                # the loss on the standardised target, so its scale does not set the step size
                loss = torch.mean(((module(train_S[rows])[:, 0] - train_y[rows]) / y_std) ** 2)
                loss.backward()
                optimiser.step()
            module.eval()
            with torch.no_grad():
                check_S, check_y = (val_S, val_y) if len(val_S) else (train_S, train_y)
                val_loss = float(torch.mean((module(check_S)[:, 0] - check_y) ** 2))
            if val_loss < best - 1e-12:
                best, stale = val_loss, 0
                best_state = {key: v.clone() for key, v in module.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if best_state is not None:
            module.load_state_dict(best_state)
        module.eval()
        self.module_ = module
        self.window_ = window
        self.n_features_in_ = k
        self.epochs_ = epochs
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def predict(self, sequences: np.ndarray) -> np.ndarray:
        """Predicted log returns, shape ``(n,)``."""
        import torch

        if not hasattr(self, "module_"):
            raise NotFittedError("LSTMMember is not fitted")
        with torch.no_grad():
            out = self.module_(torch.from_numpy(np.asarray(sequences, dtype=np.float32)))
        return out[:, 0].numpy().astype(np.float64)

    def to_onnx(self) -> bytes:
        """``sequences`` float32 ``[batch, window, k]`` → ``log_return`` ``[batch, 1]``
        (opset 17, IR <= 9, torch's TorchScript exporter as the other torch jobs)."""
        import onnx
        import torch

        if not hasattr(self, "module_"):
            raise NotFittedError("LSTMMember is not fitted")
        example = torch.zeros(1, self.window_, self.n_features_in_)
        buffer = io.BytesIO()
        torch.onnx.export(
            self.module_,
            (example,),
            buffer,  # type: ignore[arg-type]  # file-like objects are accepted
            input_names=["sequences"],
            output_names=["log_return"],
            dynamic_axes={"sequences": {0: "batch"}, "log_return": {0: "batch"}},
            opset_version=TARGET_OPSET,
            dynamo=False,
        )
        proto = onnx.load_from_string(buffer.getvalue())
        proto.ir_version = min(proto.ir_version, MAX_IR_VERSION)
        return bytes(proto.SerializeToString())


def _module(
    k: int, hidden: int, mean: np.ndarray, std: np.ndarray, y_mean: float, y_std: float
) -> Any:
    import torch
    from torch import nn

    class _Forecaster(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
            self.register_buffer("std", torch.from_numpy(std.astype(np.float32)))
            self.register_buffer("y_mean", torch.tensor(y_mean, dtype=torch.float32))
            self.register_buffer("y_std", torch.tensor(y_std, dtype=torch.float32))
            self.lstm = nn.LSTM(k, hidden, batch_first=True)
            self.head = nn.Linear(hidden, 1)

        def forward(self, x: Any) -> Any:
            z = (x - self.mean) / self.std
            out, _ = self.lstm(z)
            return self.head(out[:, -1, :]) * self.y_std + self.y_mean

    return _Forecaster()


def _as_float32(X: np.ndarray) -> np.ndarray:
    """Rounded to float32 as onnxruntime reads the input, kept float64 for scikit-learn."""
    return np.asarray(X, dtype=np.float32).astype(np.float64)
