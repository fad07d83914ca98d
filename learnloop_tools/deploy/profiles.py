"""What each Lambda function may touch and which layers it loads.

The functions themselves come from the Chalice app (see :mod:`learnloop_tools.deploy.inventory`);
this module only says, per function name, how much it needs. A function it does not name
(a new schedule, say) still deploys, with the default of its kind: the ingest and inference
layers, item-level DynamoDB access and read-only S3 access, so nothing new gets write access
to ``models/`` or ``exports/`` until someone grants it here.

Examples
--------
>>> profile_for("api_ingest", "api").layers
('ingest',)
>>> profile_for("a_new_schedule", "schedule").s3_write
()
"""

from __future__ import annotations

from dataclasses import dataclass

#: Layer names, in the order a function stacks them (Lambda applies them in order).
LAYER_ORDER = ("ingest", "inference", "learn")


@dataclass(frozen=True)
class Profile:
    """Layers and permissions of one function.

    Parameters
    ----------
    layers
        Names from :data:`LAYER_ORDER`.
    dynamodb_write
        PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems on the stage's tables.
    dynamodb_scan
        Scan: scheduled jobs only (request paths use GetItem and Query).
    s3_read, s3_write, s3_delete
        Key prefixes of the stage's bucket (``""`` is the whole bucket).
    tables
        Entities (``"ledger"``, ``"users"``) whose tables it may touch; empty: every table.
    puts_events
        PutEvents on the stage's event bus (named to it in ``LEARNLOOP_EVENT_BUS``).
    """

    layers: tuple[str, ...] = ("ingest", "inference")
    dynamodb_write: bool = True
    dynamodb_scan: bool = False
    s3_read: tuple[str, ...] = ()
    s3_write: tuple[str, ...] = ()
    s3_delete: tuple[str, ...] = ()
    needs_secret: bool = True
    tables: tuple[str, ...] = ()
    puts_events: bool = False


#: Functions whose needs are known. Route groups are named ``api_{scope}``.
PROFILES: dict[str, Profile] = {
    # Ingest and the open health route: no numpy, no S3 at all.
    "api_ingest": Profile(layers=("ingest",)),
    # Serving: ONNX models, the item matrix and tokenizers are read from models/.
    "api_read": Profile(s3_read=("models/",)),
    # Admin: registry moves, exports download, user deletion (every table; rewrites exports/
    # within its time budget), pinning an evaluation set (read to check its sha256).
    "api_admin": Profile(s3_read=("models/", "exports/", "evaluation/"), s3_write=("exports/",)),
    "rollup_daily": Profile(layers=("ingest",), dynamodb_scan=True, needs_secret=False),
    # The one function that trains in Lambda: scikit-learn + skl2onnx, writes models/ and
    # the hold-out rows to evaluation/.
    "learn": Profile(
        layers=("ingest", "learn"),
        dynamodb_scan=True,
        s3_read=("models/",),
        s3_write=("models/", "evaluation/"),
        needs_secret=False,
    ),
    # Registration reads the dropped files and the evaluation sets, smoke-tests and scores the
    # ONNX, and writes only DynamoDB.
    "on_model_dropped": Profile(s3_read=("models/", "evaluation/"), needs_secret=False),
    # Drift: reads day partitions (Query, never Scan) and the production ONNX + manifest from
    # models/, scores with onnxruntime (inference layer), writes only its ledger items (a
    # drifted predictor's retrain is requested there: the learn layer would not fit beside
    # inference). The secret maps reactions' users to the two-tower model's pseudonyms. A
    # container model's retrain request goes on the stage's bus, whose rule starts its task.
    "drift_check": Profile(layers=("ingest", "inference"), s3_read=("models/",), puts_events=True),
    # Off-policy evaluation of the configured bandit candidates: day partitions of the decision
    # log (Query), numpy (inference layer); publishes bandit_policy versions under models/ only
    # (registration, on the drop, decides). Pseudonyms are not read, so no secret.
    "evaluate_policies": Profile(
        layers=("ingest", "inference"),
        s3_read=("models/bandit_policy",),
        s3_write=("models/bandit_policy",),
        needs_secret=False,
    ),
    # Deletions' leftover export rewrites: the ledger's pending items and the tombstones'
    # receipts (users), read/rewrite exports/; pseudonyms only, so no secret.
    "privacy_purge": Profile(
        layers=("ingest",),
        s3_read=("exports/",),
        s3_write=("exports/",),
        needs_secret=False,
        tables=("ledger", "users"),
    ),
    # Decision lines from the API functions' logs (a subscription filter) → the decisions
    # table; reads tombstones (users) to drop a pseudonym deleted meanwhile. No S3, no secret.
    "on_decision_logs": Profile(
        layers=("ingest",), needs_secret=False, tables=("decisions", "users")
    ),
    # Bulk import of an object under imports/{kind}/ (an S3 event): reads it, writes the
    # rows through ingest's writers and its report under import-reports/. No numpy, no secret.
    "on_import": Profile(
        layers=("ingest",),
        s3_read=("imports/",),
        s3_write=("import-reports/",),
        needs_secret=False,
    ),
    # Contract B: pseudonymized JSON Lines under exports/ (no numpy).
    "export_training_data": Profile(
        layers=("ingest",), dynamodb_scan=True, s3_read=("exports/",), s3_write=("exports/",)
    ),
    # Market flags: Queries the candles of every series (numpy: inference layer) and writes
    # only its flags; market data, no users, so no secret and no S3.
    "market_anomalies": Profile(
        layers=("ingest", "inference"),
        needs_secret=False,
        tables=("candles", "market_anomalies"),
    ),
}

#: The default per kind of function, for functions :data:`PROFILES` does not name.
DEFAULTS: dict[str, Profile] = {
    "api": Profile(s3_read=("models/",)),
    "schedule": Profile(dynamodb_scan=True, s3_read=("",)),
    "event": Profile(s3_read=("",)),
    "logs": Profile(layers=("ingest",), needs_secret=False),
}


def profile_for(name: str, kind: str) -> Profile:
    """The profile of function ``name`` of ``kind`` (``api``, ``schedule``, ``event`` or
    ``logs``)."""
    return PROFILES.get(name) or DEFAULTS[kind]


__all__ = ["DEFAULTS", "LAYER_ORDER", "PROFILES", "Profile", "profile_for"]
