"""The model registry: versions, the production alias, promotion, rollback and their history.

Everything lives in the models table, one partition per model name (``name``), sorted by
``version``:

``YYYYMMDDTHHMMSSZ``
    A version (written by :mod:`learnloop.models.registration`): ``status`` is ``candidate``,
    ``production``, ``archived`` (was production) or ``rejected`` (failed an integrity
    check), with the ``reason`` of the last decision, ``s3_prefix``, ``metrics``, ``manifest``.
``@production``
    The alias serving reads with one GetItem (:func:`production_record`): ``target`` is the
    production version, ``s3_prefix`` its prefix (``models/{name}/{version}/``; the ONNX is
    ``{s3_prefix}model.onnx``), ``previous`` the version before it and ``lineage`` every
    earlier production version, oldest first (where successive rollbacks go).
``@history#{at}#{id}``
    One move of the alias: ``action`` (``promote`` / ``rollback``), ``previous`` → ``target``,
    ``actor``, ``reason``, ``created_at``.

Versions are digits, and ``"@"`` sorts after digits, so ``version < "@"`` selects exactly the
versions of a partition. Model names are the :data:`KNOWN_MODELS` plus those registration
records in the small ``"@names"`` partition (one item per name): listing models is one Query
per name, never a Scan.

Every alias move is one transaction conditional on the alias' current target, so two
concurrent promotions cannot clobber each other: the loser gets a :class:`ConflictError`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from learnloop.clock import iso, utcnow
from learnloop.exceptions import ConflictError, NotFoundError, StoreError
from learnloop.store.records import ModelRecord
from learnloop.store.tables import Tables

PRODUCTION_ALIAS = "@production"
HISTORY_PREFIX = "@history#"
NAMES_PARTITION = "@names"
#: Models the platform trains itself; their names need no ``@names`` item.
KNOWN_MODELS: tuple[str, ...] = ("engagement", "follow_through")
#: Version statuses.
CANDIDATE, PRODUCTION, ARCHIVED, REJECTED = "candidate", "production", "archived", "rejected"
_ALIAS_SORT_BOUND = "@"  # every version sorts below it; alias and history items above
_MAX_LINEAGE = 50


def production_record(tables: Tables, name: str) -> ModelRecord | None:
    """The production alias of ``name`` (one consistent GetItem), or None when there is none.

    This is the contract serving relies on: ``record.target`` is the production version and
    ``record.s3_prefix`` its prefix, so the ONNX is at ``f"{record.s3_prefix}model.onnx"``.

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    name : str
        Model name (``"engagement"``, ``"follow_through"``, ...).

    Returns
    -------
    ModelRecord or None
        The alias item (``version == "@production"``).

    Examples
    --------
    >>> alias = production_record(tables, "engagement")  # doctest: +SKIP
    >>> alias.target, alias.s3_prefix  # doctest: +SKIP
    ('20261120T093000Z', 'models/engagement/20261120T093000Z/')
    """
    try:
        return tables.models.get(name, PRODUCTION_ALIAS, consistent_read=True)
    except tables.models.DoesNotExist:
        return None


def version_dict(record: ModelRecord) -> dict[str, Any]:
    """A version item as JSON-ready data (what :meth:`ModelRegistry.versions` lists).

    Examples
    --------
    >>> from learnloop.store.records import ModelRecord
    >>> version_dict(ModelRecord("engagement", "20261120T093000Z", created_at="t"))["status"]
    'candidate'
    """
    return {
        "name": record.name,
        "version": record.version,
        "status": record.status,
        "reason": record.reason,
        "metrics": record.metrics,
        "s3_prefix": record.s3_prefix,
        "comparison": record.comparison,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def history_dict(record: ModelRecord) -> dict[str, Any]:
    """A history item as JSON-ready data: who moved production from what to what, why, when.

    Examples
    --------
    >>> from learnloop.store.records import ModelRecord
    >>> item = ModelRecord("engagement", "@history#t#1", created_at="t", action="promote",
    ...                    target="20261120T093000Z", actor="ana", reason="better r2")
    >>> history_dict(item)["to"], history_dict(item)["from"]
    ('20261120T093000Z', None)
    """
    return {
        "name": record.name,
        "action": record.action,
        "from": record.previous,
        "to": record.target,
        "actor": record.actor,
        "reason": record.reason,
        "at": record.created_at,
    }


class ModelRegistry:
    """Versions and the production alias of every model in one stage's models table.

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    clock : callable, optional
        Returns the current time (timezone-aware); defaults to UTC now. Tests pin it.

    Examples
    --------
    >>> registry = ModelRegistry(tables)  # doctest: +SKIP
    >>> registry.promote("engagement", "20261120T093000Z", actor="ana", reason="better r2")
    ... # doctest: +SKIP
    {'name': 'engagement', 'action': 'promote', 'from': None, 'to': '20261120T093000Z', ...}
    >>> registry.rollback("engagement", actor="ana", reason="bad predictions")  # doctest: +SKIP
    Traceback (most recent call last):
    learnloop.exceptions.ConflictError: engagement has no earlier production version
    """

    def __init__(self, tables: Tables, *, clock: Callable[[], datetime] | None = None) -> None:
        self.tables = tables
        self.clock = clock or utcnow

    # --- reading -------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Every model name: :data:`KNOWN_MODELS` plus those registration recorded, sorted.

        Examples
        --------
        >>> ModelRegistry(tables).names()  # doctest: +SKIP
        ['engagement', 'follow_through']
        """
        recorded = {item.version for item in self.tables.models.query(NAMES_PARTITION)}
        return sorted(recorded.union(KNOWN_MODELS))

    def remember_name(self, name: str) -> None:
        """Record ``name`` in the ``"@names"`` partition (idempotent; registration calls it).

        Examples
        --------
        >>> ModelRegistry(tables).remember_name("churn")  # doctest: +SKIP
        """
        if name in KNOWN_MODELS:
            return
        self.tables.models(NAMES_PARTITION, name, created_at=iso(self.clock())).save()

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of ``name``, oldest first (see :func:`version_dict`).

        Raises
        ------
        NotFoundError
            When ``name`` is neither known nor has any version.

        Examples
        --------
        >>> [v["status"] for v in ModelRegistry(tables).versions("engagement")]  # doctest: +SKIP
        ['archived', 'production', 'candidate']
        """
        records = self._version_records(name)
        if not records and name not in KNOWN_MODELS:
            raise NotFoundError(f"no model named {name!r}")
        return [version_dict(r) for r in records]

    def list_models(self) -> dict[str, dict[str, Any]]:
        """Every model: its production version (or None) and its versions, oldest first.

        Examples
        --------
        >>> ModelRegistry(tables).list_models()["engagement"]["production"]  # doctest: +SKIP
        '20261120T093000Z'
        """
        result: dict[str, dict[str, Any]] = {}
        for name in self.names():
            alias = production_record(self.tables, name)
            result[name] = {
                "production": alias.target if alias else None,
                "versions": [version_dict(r) for r in self._version_records(name)],
            }
        return result

    def production(self, name: str) -> ModelRecord | None:
        """The production alias of ``name`` or None; see :func:`production_record`."""
        return production_record(self.tables, name)

    def history(self, name: str) -> list[dict[str, Any]]:
        """Every move of ``name``'s production alias, newest first (see :func:`history_dict`).

        Raises
        ------
        NotFoundError
            When ``name`` is neither known nor has any version.

        Examples
        --------
        >>> [h["action"] for h in ModelRegistry(tables).history("engagement")]  # doctest: +SKIP
        ['rollback', 'promote', 'promote']
        """
        self._require_name(name)
        items = self.tables.models.query(
            name,
            range_key_condition=self.tables.models.version.startswith(HISTORY_PREFIX),
            scan_index_forward=False,
            consistent_read=True,
        )
        return [history_dict(item) for item in items]

    # --- moving the alias ----------------------------------------------------------------------

    def promote(self, name: str, version: str, *, actor: str, reason: str) -> dict[str, Any]:
        """Point ``name``'s production alias at ``version``.

        The version becomes ``production``, the one it replaces ``archived``, the replaced one
        goes on the alias' ``lineage`` (for :meth:`rollback`), and a history item records the
        move, all in one transaction conditional on the alias not having moved meanwhile.
        Promoting the current production version changes nothing and writes no history.

        Parameters
        ----------
        name, version : str
            The model and the version to serve.
        actor : str
            Who asked (a person, or ``"registration"``).
        reason : str
            Why; kept in the history.

        Returns
        -------
        dict
            The history entry (``name``, ``action``, ``from``, ``to``, ``actor``, ``reason``,
            ``at``), plus ``changed`` (False when ``version`` already was production).

        Raises
        ------
        NotFoundError
            Unknown model or version.
        ConflictError
            The version was rejected, or production moved concurrently (retry).

        Examples
        --------
        >>> ModelRegistry(tables).promote("engagement", "20261120T093000Z", actor="ana",
        ...                               reason="better r2")["to"]  # doctest: +SKIP
        '20261120T093000Z'
        """
        record = self._version_record(name, version)
        if record.status == REJECTED:
            raise ConflictError(
                f"{name} {version} was rejected ({record.reason}); it cannot be promoted"
            )
        alias = production_record(self.tables, name)
        current = alias.target if alias else None
        if current == version:
            return {
                **self._entry(name, "promote", current, version, actor, reason),
                "changed": False,
            }
        lineage: list[str] = [str(v) for v in alias.lineage or []] if alias else []
        if current is not None:
            lineage = [*lineage, current][-_MAX_LINEAGE:]
        return self._move(name, "promote", alias, record, lineage, actor=actor, reason=reason)

    def rollback(self, name: str, *, actor: str, reason: str) -> dict[str, Any]:
        """Point ``name``'s production alias back at the version it served before the current one.

        Successive rollbacks walk further back (the alias keeps every earlier production
        version); the version rolled back from becomes ``archived``.

        Returns
        -------
        dict
            The history entry, as :meth:`promote` returns it.

        Raises
        ------
        NotFoundError
            Unknown model.
        ConflictError
            There is no production version, or no earlier one to go back to, or production
            moved concurrently.

        Examples
        --------
        >>> ModelRegistry(tables).rollback("engagement", actor="ana", reason="drift")["to"]
        ... # doctest: +SKIP
        '20261119T093000Z'
        """
        self._require_name(name)
        alias = production_record(self.tables, name)
        if alias is None:
            raise ConflictError(f"{name} has no production version to roll back")
        lineage = [str(v) for v in alias.lineage or []]
        if not lineage:
            raise ConflictError(f"{name} has no earlier production version")
        target = lineage.pop()
        record = self._version_record(name, target)
        return self._move(name, "rollback", alias, record, lineage, actor=actor, reason=reason)

    # --- internals -----------------------------------------------------------------------------

    def _move(
        self,
        name: str,
        action: str,
        alias: ModelRecord | None,
        record: ModelRecord,
        lineage: list[str],
        *,
        actor: str,
        reason: str,
    ) -> dict[str, Any]:
        models = self.tables.models
        now = iso(self.clock())
        current = alias.target if alias else None
        new_alias = models(
            name,
            PRODUCTION_ALIAS,
            status=PRODUCTION,
            target=record.version,
            s3_prefix=record.s3_prefix,
            metrics=record.metrics,
            previous=lineage[-1] if lineage else None,
            lineage=lineage or None,
            actor=actor,
            action=action,
            reason=reason,
            created_at=alias.created_at if alias else now,
            updated_at=now,
        )
        history = models(
            name,
            f"{HISTORY_PREFIX}{now}#{uuid.uuid4().hex[:8]}",
            status="history",
            action=action,
            previous=current,
            target=record.version,
            actor=actor,
            reason=reason,
            created_at=now,
        )
        # Optimistic lock: the alias must still point where it pointed when we read it.
        alias_condition = (
            models.target == current if current is not None else models.version.does_not_exist()
        )
        try:
            with TransactWrite(connection=models._get_connection().connection) as transaction:
                transaction.save(new_alias, condition=alias_condition)
                transaction.save(history, condition=models.version.does_not_exist())
                transaction.update(
                    models(name, record.version, created_at=record.created_at),
                    actions=[
                        models.status.set(PRODUCTION),
                        models.reason.set(f"{action} by {actor}: {reason}"),
                        models.updated_at.set(now),
                    ],
                    condition=models.version.exists(),
                )
                if current is not None and current != record.version:
                    transaction.update(
                        models(name, current, created_at=now),
                        actions=[models.status.set(ARCHIVED), models.updated_at.set(now)],
                        condition=models.version.exists(),
                    )
        except TransactWriteError as exc:
            reasons = [getattr(r, "code", None) for r in exc.cancellation_reasons or [] if r]
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise ConflictError(
                    f"{name}'s production version changed meanwhile; read it again and retry"
                ) from exc
            raise StoreError(f"could not move {name}'s production alias: {exc}") from exc
        return {
            **self._entry(name, action, current, record.version, actor, reason, now),
            "changed": True,
        }

    @staticmethod
    def _entry(
        name: str,
        action: str,
        current: str | None,
        target: str | None,
        actor: str,
        reason: str,
        at: str | None = None,
    ) -> dict[str, Any]:
        return {
            "name": name,
            "action": action,
            "from": current,
            "to": target,
            "actor": actor,
            "reason": reason,
            "at": at,
        }

    def _version_records(self, name: str) -> list[ModelRecord]:
        models = self.tables.models
        return list(
            models.query(
                name,
                range_key_condition=models.version < _ALIAS_SORT_BOUND,
                consistent_read=True,
            )
        )

    def _version_record(self, name: str, version: str) -> ModelRecord:
        if version.startswith(_ALIAS_SORT_BOUND):
            raise NotFoundError(f"{version!r} is not a version")
        try:
            return self.tables.models.get(name, version, consistent_read=True)
        except self.tables.models.DoesNotExist:
            self._require_name(name)
            raise NotFoundError(f"{name} has no version {version!r}") from None

    def _require_name(self, name: str) -> None:
        if name in KNOWN_MODELS:
            return
        models = self.tables.models
        if next(iter(models.query(name, limit=1)), None) is None:
            raise NotFoundError(f"no model named {name!r}")


__all__ = [
    "ARCHIVED",
    "CANDIDATE",
    "HISTORY_PREFIX",
    "KNOWN_MODELS",
    "NAMES_PARTITION",
    "PRODUCTION",
    "PRODUCTION_ALIAS",
    "REJECTED",
    "ModelRegistry",
    "history_dict",
    "production_record",
    "version_dict",
]
