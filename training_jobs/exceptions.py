"""Errors of the training jobs; all subclass :class:`learnloop.exceptions.LearnloopError`."""

from __future__ import annotations

from learnloop.exceptions import InsufficientDataError, LearnloopError


class TrainingDataError(LearnloopError):
    """The exports could not be read: a missing file, a sha256 that differs from the export's
    manifest, or a line that is not the JSON object contract B describes."""

    code = "training_data_error"


class NotEnoughInteractionsError(InsufficientDataError):
    """Too few positives (or users, or items) to split, train and validate a recommender."""

    code = "not_enough_interactions"


__all__ = ["NotEnoughInteractionsError", "TrainingDataError"]
