"""The sentiment head: multinomial logistic regression over sentence embeddings.

``C`` is chosen from a small grid by stratified k-fold cross-validation on macro-F1 (the
classes are unbalanced — Financial PhraseBank is ~60 % neutral — so accuracy alone would favour
the majority class); ``class_weight="balanced"`` for the same reason. The fitted head exports
to ONNX with skl2onnx (:meth:`SentimentClassifier.to_onnx`: input ``features`` float32
``[n, dim]``, outputs ``label`` and ``probabilities`` ``[n, n_classes]``).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = np.vstack([rng.normal(m, 0.3, size=(12, 4)) for m in (-1.0, 0.0, 1.0)])
>>> y = ["negative"] * 12 + ["neutral"] * 12 + ["positive"] * 12
>>> model = SentimentClassifier(Cs=(1.0,), cv=3).fit(X, y)
>>> model.classes_
['negative', 'neutral', 'positive']
>>> model.predict(X[:1]), model.predict_proba(X[:1]).shape
(['negative'], (1, 3))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from learnloop.exceptions import InsufficientDataError, NotFittedError
from learnloop.models.conversion import to_onnx

__all__ = ["DEFAULT_CS", "MIN_PER_CLASS", "NotEnoughLabelledDataError", "SentimentClassifier"]

#: The ``C`` grid: strong to weak regularisation.
DEFAULT_CS: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)
#: Fewer examples of a class than this cannot be split 80/20 and cross-validated.
MIN_PER_CLASS = 10


class NotEnoughLabelledDataError(InsufficientDataError):
    """Too few labelled texts (or too few of one class) to split, cross-validate and fit."""

    code = "not_enough_labelled_data"


class SentimentClassifier:
    """Logistic regression (multinomial, balanced class weights) with ``C`` chosen by CV.

    Parameters
    ----------
    Cs : sequence of float, default (0.1, 1, 10, 100)
        Candidate inverse regularisation strengths.
    cv : int, default 5
        Stratified folds (fewer when the smallest class has fewer examples).
    max_iter : int, default 2000
        lbfgs iterations.
    min_per_class : int, default 2
        Fewer examples of any class than this → :class:`NotEnoughLabelledDataError`.
    random_state : int, default 0
        Seeds the fold shuffle.

    Attributes
    ----------
    classes_ : list of str
        The labels, in the column order of :meth:`predict_proba` (sorted).
    C_ : float
        The chosen ``C``.
    cv_scores_ : dict of float to float
        Mean cross-validated macro-F1 per candidate ``C``.
    estimator_ : sklearn.linear_model.LogisticRegression
        The head, refit on everything ``fit`` was given with ``C_``.
    n_features_in_ : int
        The embedding width.
    """

    def __init__(
        self,
        *,
        Cs: Sequence[float] = DEFAULT_CS,
        cv: int = 5,
        max_iter: int = 2000,
        min_per_class: int = 2,
        random_state: int = 0,
    ) -> None:
        self.Cs = Cs
        self.cv = cv
        self.max_iter = max_iter
        self.min_per_class = min_per_class
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: Sequence[str]) -> SentimentClassifier:
        """Choose ``C`` by cross-validation, then fit the head on all of ``X``.

        Raises
        ------
        NotEnoughLabelledDataError
            Fewer than two classes, or a class with fewer than ``min_per_class`` examples.
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_score

        X = np.ascontiguousarray(X, dtype=np.float32)
        labels = [str(label) for label in y]
        if X.ndim != 2 or X.shape[0] != len(labels):
            raise ValueError(f"X of shape {X.shape} for {len(labels)} labels")
        counts = Counter(labels)
        smallest = min(counts.values(), default=0)
        if len(counts) < 2 or smallest < max(self.min_per_class, 2):
            raise NotEnoughLabelledDataError(
                f"need at least {max(self.min_per_class, 2)} examples of each of two or more "
                f"classes; got {dict(sorted(counts.items()))}",
                details=[
                    {"field": f"label.{label}", "message": f"{n} examples"}
                    for label, n in sorted(counts.items())
                ],
            )
        folds = StratifiedKFold(
            n_splits=max(2, min(self.cv, smallest)), shuffle=True, random_state=self.random_state
        )
        scores: dict[float, float] = {}
        for C in self.Cs:
            # lbfgs on several classes is the multinomial (softmax) model; scikit-learn 1.5+
            # deprecates multi_class, so it is not passed.
            candidate = LogisticRegression(
                C=float(C), class_weight="balanced", max_iter=self.max_iter
            )
            scores[float(C)] = float(
                cross_val_score(candidate, X, labels, cv=folds, scoring="f1_macro").mean()
            )
        # Ties go to the smaller C (the simpler model).
        best = max(sorted(scores), key=lambda c: scores[c])
        self.estimator_ = LogisticRegression(
            C=best, class_weight="balanced", max_iter=self.max_iter
        ).fit(X, labels)
        self.C_ = best
        self.cv_scores_ = scores
        self.classes_ = [str(c) for c in self.estimator_.classes_]
        self.n_features_in_ = int(X.shape[1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, shape ``(n, len(classes_))``, columns in ``classes_`` order."""
        estimator = self._fitted()
        result: np.ndarray = estimator.predict_proba(np.asarray(X, dtype=np.float32))
        return result

    def predict(self, X: np.ndarray) -> list[str]:
        """The most probable label of each row."""
        probabilities = self.predict_proba(X)
        return [self.classes_[i] for i in probabilities.argmax(axis=1)]

    def to_onnx(self) -> bytes:
        """The head as ONNX (opset 17, IR <= 9): ``features`` → ``label``, ``probabilities``.

        Examples
        --------
        >>> from learnloop.models.conversion import onnx_predict
        >>> onnx_predict(model.to_onnx(), X[:2]).shape  # doctest: +SKIP
        (2, 3)
        """

        estimator = self._fitted()
        return to_onnx(estimator, [f"e{i}" for i in range(self.n_features_in_)])

    def _fitted(self) -> Any:
        estimator = getattr(self, "estimator_", None)
        if estimator is None:
            raise NotFittedError("SentimentClassifier is not fitted; call fit first")
        return estimator
