"""The two-tower training job: exports in S3 → trained towers → ``models/two_tower/{version}/``.

``python -m training_jobs.two_tower`` runs :func:`main`; ``learnloop train two_tower`` runs
the same module as a subprocess. The job

1. reads every complete contract-B export (or ``--dates``), dropping excluded pseudonyms,
   and embeds item text (MiniLM by default);
2. splits the positives per user (each eligible user's newest 10 % test, the 10 % before
   validation), tunes the two-tower model and ``implicit``'s ALS within ``--budget-seconds``
   on the validation users, scores each candidate's best on the test users beside the
   popularity baseline, and refits the winner on every positive (:mod:`.selection`);
3. exports both towers as ONNX (ALS: small graphs over its factors with the same inputs),
   checks they reproduce the published embeddings (1e-4), and writes the towers, the
   embedding matrices (``.npy``), the id maps and ``manifest.json`` last;
4. when the stage has a production version, refits its settings on the same split and ships
   both settings' per-user test figures for registration's comparison (:mod:`.champion`).

Whichever candidate wins, the artifact has the same files and layout (contract C); the
manifest's ``extra.model`` names it, ``extra.selection`` holds every trial and the held-out
figures, ``extra.popularity_floor`` the rule registration applies.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import numpy as np
from pynamodb.exceptions import PynamoDBException

from learnloop.exceptions import LearnloopError
from learnloop.models.artifacts import build_manifest, new_version, write_artifact
from learnloop.models.kinds import (
    HISTORY_EMBEDDINGS_FILE,
    ITEM_EMBEDDINGS_FILE,
    ITEMS_FILE,
    USER_EMBEDDINGS_FILE,
    USERS_FILE,
)
from learnloop.recommender.ann import DEFAULT_MIN_ROWS, build_ann_files
from learnloop.settings import Settings
from learnloop.store.clients import s3_client
from learnloop.store.tables import Tables
from learnloop.users.consent import excluded_pseudonyms
from training_jobs.exceptions import TrainingDataError
from training_jobs.two_tower.champion import compare_with_production, production_of
from training_jobs.two_tower.data import read_exports
from training_jobs.two_tower.estimator import (
    LOSSES,
    EmbeddingRecommender,
    EpochCallback,
    TwoTowerRecommender,
    catalog_from,
)
from training_jobs.two_tower.factor_export import check_factor_towers, export_factor_towers
from training_jobs.two_tower.onnx_export import check_towers, export_towers
from training_jobs.two_tower.selection import select_model
from training_jobs.two_tower.text import TEXT_EMBEDDERS, TextEmbedder
from training_jobs.two_tower.tuning import CANDIDATES, DEFAULT_BUDGET_SECONDS

MODEL_NAME = "two_tower"
EMBEDDING_DIMS = (64, 128, 256)
KEY_METRIC = "ndcg@10"


@dataclass
class TrainResult:
    """What a run wrote: the version, the S3 keys (manifest last) and the manifest."""

    version: str
    keys: list[str]
    manifest: dict[str, Any]
    log: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: version, keys, metrics."""
        return {
            "name": MODEL_NAME,
            "version": self.version,
            "keys": self.keys,
            "metrics": self.manifest["metrics"],
            "best_epoch": self.manifest["extra"]["best_epoch"],
            "model": self.manifest["extra"]["model"],
        }


def train_two_tower(
    s3: Any,
    bucket: str,
    *,
    params: dict[str, Any] | None = None,
    dates: Sequence[str] | None = None,
    exclude: Collection[str] = frozenset(),
    text_embedder: TextEmbedder | None = None,
    text_encoder_name: str = "none",
    refit: bool = True,
    candidates: Sequence[str] = CANDIDATES,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
    max_trials: int = 40,
    holdout: float = 0.1,
    als_params: dict[str, Any] | None = None,
    ease_params: dict[str, Any] | None = None,
    now: datetime | None = None,
    progress: Callable[[str, int], EpochCallback] | None = None,
    echo: Callable[[str], None] = print,
    ann_min_rows: int = DEFAULT_MIN_ROWS,
    production: tuple[str, Mapping[str, Any]] | None = None,
) -> TrainResult:
    """Train the candidates on the exports in ``bucket``, choose one and publish it there.

    Parameters
    ----------
    s3 : boto3 S3 client
        Injected: reads ``exports/``, writes ``models/two_tower/{version}/``.
    bucket : str
        The stage's bucket.
    params : dict, optional
        :class:`TwoTowerRecommender` settings pinned in the search (``random_state`` seeds
        every candidate).
    dates : sequence of str, optional
        Export dates to read (default: every complete export).
    exclude : collection of str
        Pseudonyms to drop (opted-out and deleted users).
    text_embedder : callable, optional
        Embeds item text; ``None`` trains without text.
    text_encoder_name : str
        Recorded in the manifest (which embedder made the text input).
    refit : bool
        Refit the winner on every positive (the two-tower model for the best epoch count).
    candidates : sequence of str
        Which candidates to train (``ease``, ``als``, ``two_tower``).
    budget_seconds : float
        The search's time budget (each candidate's defaults are always tried).
    max_trials : int
        Most search trials per candidate.
    holdout : float
        Share of each eligible user's newest positives in test (and as many before them in
        validation).
    als_params : dict, optional
        :class:`~training_jobs.two_tower.als.ALSRecommender` settings pinned in the search.
    ease_params : dict, optional
        :class:`~training_jobs.two_tower.ease.EASERecommender` settings pinned in the search.
    now : datetime, optional
        The version's time.
    progress : callable, optional
        ``progress(stage, epochs)`` returns the per-epoch callback of one fit.
    echo : callable
        Where step lines go.
    ann_min_rows : int
        Ship approximate-search indexes for matrices of at least this many rows.
    production : (str, mapping), optional
        Production's version and manifest: its settings are refit on this run's split and
        compared with the winner's on the same users (:mod:`.champion`).

    Raises
    ------
    TrainingDataError
        When there are no exports, or they cannot be read.
    NotEnoughInteractionsError
        When there are too few positives to split and train.
    """

    now = now or datetime.now(UTC)
    data = read_exports(s3, bucket, dates=dates, exclude=exclude)
    if not data.exports:
        raise TrainingDataError(f"no complete exports under s3://{bucket}/exports/")
    echo(
        f"read {len(data.exports)} exports: {data.counts['positives']} positives of "
        f"{data.counts['users']} users, {data.counts['items']} items "
        f"({data.excluded_rows} rows of excluded users dropped)"
    )
    # Only the two-tower model reads item text: without it, the (slow) text step is skipped.
    if "two_tower" not in candidates:
        text_embedder, text_encoder_name = None, "none"
    catalog = catalog_from(data.items, text_embedder)
    echo(f"embedded item text with {text_encoder_name}")
    selection = select_model(
        data.interactions,
        catalog=catalog,
        params=params,
        als_params=als_params,
        ease_params=ease_params,
        candidates=candidates,
        budget_seconds=budget_seconds,
        max_trials=max_trials,
        holdout=holdout,
        refit=refit,
        progress=progress,
        echo=echo,
    )
    split, published = selection.split, selection.published
    if isinstance(published, TwoTowerRecommender):
        towers = export_towers(published)
        worst = check_towers(published, towers)
    else:  # ALS and EASE publish factors: small ONNX graphs stand in for the towers
        towers = export_factor_towers(published)
        worst = check_factor_towers(published, towers)
    echo(f"ONNX towers reproduce the published embeddings (max |diff| {worst:.1e})")
    files = dict(towers.files)
    files.update(_matrices(published))
    # Approximate-search indexes next to the embeddings, above the threshold (serving
    # falls back to exact without them): learnloop.recommender.ann.
    files.update(
        build_ann_files(
            published.item_embeddings_, published.user_embeddings_, min_rows=ann_min_rows
        )
    )
    champion = None
    if production is not None:
        champion = compare_with_production(
            selection, *production, catalog=catalog, text_encoder_name=text_encoder_name, echo=echo
        )
        files.update(champion.files)
    version = new_version(now)
    text = getattr(published, "text_embeddings_", None)
    extra = {
        "kind": MODEL_NAME,
        "model": selection.winner.candidate,
        "embedding_dim": int(published.item_embeddings_.shape[1]),
        "exports": [ref.to_dict() for ref in data.exports],
        "towers": towers.spec,
        "text_encoder": text_encoder_name,
        "text_dim": 0
        if text is None or selection.winner.candidate != "two_tower"
        else text.shape[1],
        "key_metric": KEY_METRIC,
        "higher_is_better": True,
        "hyperparameters": published.get_params(),
        "best_epoch": selection.winner.best_epoch,
        "refit": refit,
        "split": {**split.sizes(), "method": f"per-user leave-last-{holdout:g}-out by time"},
        "test_users": selection.test_users,
        "excluded_rows": data.excluded_rows,
        "selection": selection.to_dict(),
        "popularity_floor": selection.popularity_floor(),
        "embedding_quality": selection.embedding_quality,
        **({"champion": champion.summary} if champion is not None else {}),
        "metrics_note": (
            "test part (each eligible user's newest positives) of the chosen candidate fit on "
            "the parts before it with the chosen settings; candidates were chosen on the "
            "validation part (each user's positives just before)"
            + ("; the published weights were refit on every positive" if refit else "")
        ),
    }
    manifest = build_manifest(
        MODEL_NAME,
        version,
        files,
        [
            spec["name"]
            for tower in ("user_tower", "item_tower")
            for spec in towers.spec[tower]["inputs"]
        ],
        selection.metrics,
        data.window,
        len(data.interactions),
        extra,
        now=now,
    )
    manifest["evaluation"] = _write_evaluation_set(
        s3, bucket, split.train + split.valid, split.test
    )
    keys = write_artifact(s3, bucket, MODEL_NAME, version, files, manifest)
    echo(f"wrote s3://{bucket}/{keys[-1]}")
    return TrainResult(version, keys, manifest)


def _write_evaluation_set(
    s3: Any, bucket: str, seen: Sequence[Any], test: Sequence[Any]
) -> dict[str, Any]:
    """The test split (the newest positives) as the version's ``holdout`` evaluation set;
    the positives before it are the ``seen`` ones every ranking leaves out."""
    from learnloop.models.evaluation import write_set

    arrays = {
        "users": [row.user for row in test],
        "items": [row.item_key for row in test],
        "seen_users": [row.user for row in seen],
        "seen_items": [row.item_key for row in seen],
    }
    return write_set(s3, bucket, MODEL_NAME, arrays, source="holdout", rows=len(test))


def _matrices(model: EmbeddingRecommender) -> dict[str, bytes]:
    def npy(array: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
        return buffer.getvalue()

    vocabulary = model.content_type_vocabulary_
    items = {
        "item_keys": list(model.item_ids_),
        "content_types": [vocabulary[int(t)] for t in model.item_content_types_],
        "popularity": [int(p) for p in model.popularity_],
    }
    files = {
        ITEM_EMBEDDINGS_FILE: npy(model.item_embeddings_),
        ITEMS_FILE: json.dumps(items).encode("utf-8"),
        USER_EMBEDDINGS_FILE: npy(model.user_embeddings_),
        USERS_FILE: json.dumps({"users": list(model.user_ids_)}).encode("utf-8"),
    }
    history = model.history_matrix()
    if history is not model.item_embeddings_:
        # A new user's profile averages other rows than the items' (EASE): serving reads them.
        files[HISTORY_EMBEDDINGS_FILE] = npy(history)
    return files


_TUNABLE = (
    "embedding_dim",
    "loss",
    "temperature",
    "epochs",
    "patience",
    "batch_size",
    "learning_rate",
    "weight_decay",
    "history_dropout",
    "user_id",
    "random_state",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training_jobs.two_tower",
        description="Train the two-tower recommender on the exports in the stage's bucket.",
    )
    parser.add_argument(
        "--candidates",
        default=",".join(CANDIDATES),
        help="comma-separated candidates to train and compare (default: %(default)s)",
    )
    parser.add_argument(
        "--budget-seconds",
        type=float,
        default=DEFAULT_BUDGET_SECONDS,
        help="time for the settings search (0: each candidate's defaults only)",
    )
    parser.add_argument("--max-trials", type=int, default=40, help="most trials per candidate")
    parser.add_argument(
        "--holdout",
        type=float,
        default=0.1,
        help="share of each user's newest positives held out for test (and for validation)",
    )
    parser.add_argument(
        "--embedding-dim", type=int, choices=EMBEDDING_DIMS, default=None, help="default: tuned"
    )
    parser.add_argument("--loss", choices=LOSSES, default=None, help="default: tuned")
    parser.add_argument("--temperature", type=float, default=None, help="default: tuned")
    parser.add_argument("--epochs", type=int, default=None, help="most epochs (early stopping)")
    parser.add_argument("--patience", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--weight-decay", type=float, default=None)
    parser.add_argument("--history-dropout", type=float, default=None)
    parser.add_argument(
        "--user-id", action="store_true", default=None, help="add a user id embedding"
    )
    parser.add_argument("--als-factors", type=int, default=None, help="ALS; default: tuned")
    parser.add_argument("--als-regularization", type=float, default=None, help="default: tuned")
    parser.add_argument("--als-alpha", type=float, default=None, help="default: tuned")
    parser.add_argument("--als-iterations", type=int, default=None, help="default: tuned")
    parser.add_argument(
        "--ease-regularization", type=float, default=None, help="EASE's penalty; default: tuned"
    )
    parser.add_argument(
        "--ease-factors", type=int, default=None, help="EASE's published rank; default: tuned"
    )
    parser.add_argument("--random-state", type=int, default=42)
    parser.add_argument("--text-encoder", choices=sorted(TEXT_EMBEDDERS), default="minilm")
    parser.add_argument("--dates", default=None, help="comma-separated export dates")
    parser.add_argument(
        "--exclude-file", default=None, help="more pseudonyms to drop, one per line"
    )
    parser.add_argument(
        "--no-exclusion-lookup",
        action="store_true",
        help="do not read the opted-out and deleted users from the users table",
    )
    parser.add_argument(
        "--no-refit", action="store_true", help="publish the model fit before the test part"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    parser.add_argument(
        "--no-champion",
        action="store_true",
        help="do not refit production's settings on this split (registration then compares "
        "on the registered set)",
    )
    return parser


def _progress(stream: TextIO, quiet: bool) -> Callable[[str, int], EpochCallback] | None:
    if quiet:
        return None

    def start(stage: str, epochs: int) -> EpochCallback:
        bar: Any = None
        if stream.isatty():
            try:
                from tqdm import tqdm

                bar = tqdm(total=epochs, desc=stage, unit="epoch", file=stream)
            except ImportError:  # pragma: no cover - tqdm comes with transformers
                bar = None

        def on_epoch(epoch: int, loss: float, score: float | None) -> None:
            shown = f"loss {loss:.4f}" + ("" if score is None else f", val NDCG@10 {score:.4f}")
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(shown)
                if epoch == epochs:
                    bar.close()
            else:
                print(f"{stage} epoch {epoch}/{epochs}: {shown}", file=stream, flush=True)

        return on_epoch

    return start


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job with the settings from the environment; returns the exit code.

    0: a model was written; 1: the job failed (the reason on stderr); 2: bad arguments.
    """

    args = _parser().parse_args(argv)
    candidates = [c.strip() for c in args.candidates.split(",") if c.strip()]
    if not candidates or any(c not in CANDIDATES for c in candidates):
        print(f"two_tower: --candidates must name some of {', '.join(CANDIDATES)}", file=sys.stderr)
        return 2
    if not 0.0 < args.holdout < 0.5 or args.budget_seconds < 0 or args.max_trials < 1:
        print(
            "two_tower: --holdout must be in (0, 0.5), --budget-seconds >= 0, --max-trials >= 1",
            file=sys.stderr,
        )
        return 2
    exclude: set[str] = set()
    try:
        if args.exclude_file:
            with open(args.exclude_file, encoding="utf-8") as handle:
                exclude = {line.strip() for line in handle if line.strip()}
        settings = Settings.from_env()
        if not args.no_exclusion_lookup:
            # Exports leave out who had opted out when they were written; a user who opted
            # out (or was deleted) since is read here, so training never sees them either.

            exclude |= excluded_pseudonyms(Tables(settings))
        # Production's settings are refit on this run's split for the registry's comparison.
        production = None if args.no_champion else production_of(Tables(settings), MODEL_NAME)
        factory = TEXT_EMBEDDERS[args.text_encoder]
        chosen = {name: getattr(args, name) for name in _TUNABLE}
        params = {name: value for name, value in chosen.items() if value is not None}
        if "user_id" in params:
            params["use_user_id"] = params.pop("user_id")

        def echo(line: str) -> None:
            if not args.quiet:
                print(line, file=sys.stderr, flush=True)

        result = train_two_tower(
            s3_client(settings),
            settings.bucket,
            params=params,
            dates=args.dates.split(",") if args.dates else None,
            exclude=exclude,
            text_embedder=factory() if factory else None,
            text_encoder_name=args.text_encoder,
            refit=not args.no_refit,
            candidates=candidates,
            budget_seconds=args.budget_seconds,
            max_trials=args.max_trials,
            holdout=args.holdout,
            als_params={
                name: getattr(args, f"als_{name}")
                for name in ("factors", "regularization", "alpha", "iterations")
                if getattr(args, f"als_{name}") is not None
            },
            ease_params={
                name: getattr(args, f"ease_{name}")
                for name in ("regularization", "factors")
                if getattr(args, f"ease_{name}") is not None
            },
            progress=_progress(sys.stderr, args.quiet),
            echo=echo,
            ann_min_rows=settings.recommend_ann_min_rows,
            production=production,
        )
    except (LearnloopError, OSError, PynamoDBException) as exc:
        print(f"two_tower: {exc}", file=sys.stderr, flush=True)
        return 1
    print(json.dumps(result.to_dict(), sort_keys=True), flush=True)
    return 0


__all__ = ["EMBEDDING_DIMS", "MODEL_NAME", "TrainResult", "main", "train_two_tower"]
