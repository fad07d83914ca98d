"""Read experiments from their table (one GetItem) and shape them as every route returns them."""

from __future__ import annotations

from typing import Any

from learnloop.exceptions import NotFoundError
from learnloop.store.records import Experiment
from learnloop.store.tables import Tables


def get_experiment(tables: Tables, experiment_id: str, *, consistent: bool = False) -> Experiment:
    """The experiment ``experiment_id`` (one GetItem).

    Raises
    ------
    NotFoundError
        No such experiment (404).

    Examples
    --------
    >>> get_experiment(tables, "nope")  # doctest: +SKIP
    Traceback (most recent call last):
    learnloop.exceptions.NotFoundError: no experiment 'nope'
    """
    model = tables.experiments
    try:
        return model.get(experiment_id, consistent_read=consistent)
    except model.DoesNotExist:
        raise NotFoundError(
            f"no experiment {experiment_id!r}",
            details=[{"field": "experiment_id", "message": "not found"}],
        ) from None


def experiment_dict(record: Experiment) -> dict[str, Any]:
    """The JSON of one experiment, as every experiment route returns it."""
    return {
        "experiment_id": record.experiment_id,
        "name": record.name,
        "description": record.description,
        "status": record.status,
        "variants": [
            {"name": str(v["name"]), "weight": float(v["weight"])} for v in record.variants
        ],
        "control": str(record.variants[0]["name"]),
        "goal_event_type": record.goal_event_type,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "started_at": record.started_at,
        "stopped_at": record.stopped_at,
        "version": int(record.version),
    }


__all__ = ["experiment_dict", "get_experiment"]
