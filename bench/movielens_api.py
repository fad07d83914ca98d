"""MovieLens 100K scored as a user meets the recommender: HTTP ingest, export, train, route.

Reactions ingested over HTTP, exported, ``learnloop train two_tower`` with its defaults,
registration, then ``GET /v1/recommendations`` scored per user against held-out likes.

``bench/movielens.py`` calls the job's ``select_model`` in process; this bench does what a user
does (issue 19), end to end on the local stack started in process
(:class:`learnloop_tools.local.Runner`: embedded moto and Chalice's server on 127.0.0.1,
schedules off so no background job moves production mid-run):

1. **Ingest.** Reactions from ``u.data``: rating >= 4 a like, <= 2 a dislike, 3 dropped. The
   training reactions go through ``POST /v1/reactions/batch`` (500 rows a request, with the
   ingest key the stack creates, :meth:`learnloop.client.Client.put_reactions`), each with its
   rating's time as ``occurred_at``: the reaction contract takes the user's time, so the
   backfill goes through the same route as live traffic and the batch route is what a user
   with a backfill over HTTP would use (``learnloop import reactions FILE`` writes the same
   rows without HTTP). MovieLens dates from 1997-98, past the default
   ``LEARNLOOP_MAX_EVENT_AGE_DAYS`` (3,650: older rows are refused with a 422), so the bench
   raises that setting to cover the data, as such a backfill must. Item text ("title. genres",
   from ``u.item``, latin-1) travels as each reaction's ``content`` snapshot (``text``): the
   exports take an item's text from its reactions' snapshots; ``PUT /v1/content`` holds
   metadata of the app's own decisions, not catalogue items. Content type ``movie``
   (``LEARNLOOP_CONTENT_TYPES=movie``).
2. **Export.** ``learnloop job run export_training_data --from FIRST --to LAST`` over the days
   the training reactions span (a subprocess, as a user runs it).
3. **Train.** ``learnloop train two_tower`` with the job's defaults (a subprocess;
   ``--budget-seconds`` only when given here). The stack's bucket watcher delivers the
   manifest to registration, which promotes the version (or refuses it: popularity floor).
4. **Score.** For every test user ``GET /v1/recommendations?user_id=&k=10&seed=0`` over HTTP;
   NDCG@10, precision@10 and recall@10 against their held-out likes (Microsoft Recommenders'
   definitions, as ``training_jobs.metrics``), the mean over users with a 95 % bootstrap
   interval over users (seeded). Beside it, on the same users: **popularity** (items ranked by
   training likes, leaving out every item the user reacted to in training: the route's
   ``recommend_exclude=all`` with reactions as the only interactions) and, for context,
   ``implicit``'s **ALS with its default settings** on the training likes (same exclusion),
   and the paired served - popularity difference.

Splits (``--split``), both unseen by the job, which splits its input again on its own:

* ``user`` (default): per user, likes ordered by time (ties by item); each user with at least
  5 likes has their newest 20 % (at least one) held out, as ``bench/movielens.py``'s
  ``chronological`` split. Ingested: every other like, and the user's dislikes up to the time
  of their first held-out like (later dislikes are neither ingested nor scored). Users with
  fewer than 5 likes are ingested whole and not scored.
* ``time``: one global cut at the 80th percentile of the reactions' timestamps; every reaction
  after it is held out, every one at or before it ingested. Scored: users with at least one
  ingested reaction and at least one held-out like (their held-out likes are the relevant
  items).

Usage::

    python bench/movielens_api.py [DATA_DIR] [--split user|time] [--users N] [--quick]
        [--budget-seconds S] [--no-als] [--seed 0] [--json]

``DATA_DIR`` defaults to ``/work/shared/data/movielens-100k`` (``u.data``, ``u.item``); nothing
is copied. ``--users N`` scores a seeded sample of N test users (all ingested); ``--quick``
keeps a seeded 150 users' reactions only and gives the job ``--budget-seconds 20`` (a smoke
run: its figures are not MovieLens-100K's; the export still walks all 215 days, ~8 min here).
With ``--json`` the last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit warns otherwise; before numpy

import numpy as np
from _report import print_report
from movielens import load

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "functions" / "app.py"
DATA = Path("/work/shared/data/movielens-100k")
K = 10
LIKE, DISLIKE = 4, 2  # rating >= LIKE is a like, <= DISLIKE a dislike, 3 is dropped
CONTENT_TYPE = "movie"
BATCH = 500  # rows per POST /v1/reactions/batch: the route's maximum


@dataclass(frozen=True)
class Split:
    """What to ingest and what to score.

    Attributes
    ----------
    name, description
        The split's name and its rule in words.
    train
        ``(n, 4)`` int64 rows ``user, item, rating, unix time`` of the reactions to ingest
        (likes and dislikes).
    test
        Each scored user's held-out liked items.
    """

    name: str
    description: str
    train: np.ndarray
    test: dict[int, set[int]]


def reactions_of(ratings: np.ndarray) -> np.ndarray:
    """Rows that are reactions: likes (rating >= 4) and dislikes (<= 2); 3 is neither."""
    return ratings[(ratings[:, 2] >= LIKE) | (ratings[:, 2] <= DISLIKE)]


def split_user(ratings: np.ndarray, share: float = 0.2, min_likes: int = 5) -> Split:
    """Per user, the newest ``share`` of likes held out (users with ``min_likes`` likes).

    Ingested: every like not held out, and each user's dislikes up to the time of their first
    held-out like (all of them for a user with nothing held out).

    Examples
    --------
    >>> rows = np.array([[1, i, 5, 100 + i] for i in range(5)] + [[1, 9, 1, 200]])
    >>> s = split_user(rows)
    >>> s.test, s.train[:, 1].tolist()
    ({1: {4}}, [0, 1, 2, 3])
    """
    reactions = reactions_of(ratings)
    likes = reactions[reactions[:, 2] >= LIKE]
    order = np.lexsort((likes[:, 1], likes[:, 3], likes[:, 0]))  # user, then time, then item
    likes = likes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(likes[:, 0])) + 1]
    counts = np.diff(np.r_[starts, len(likes)])
    rank = np.arange(len(likes)) - np.repeat(starts, counts)
    n = np.repeat(counts, counts)
    held = (n >= min_likes) & (rank >= n - np.maximum(1, (share * n).astype(np.int64)))
    test: dict[int, set[int]] = {}
    cut: dict[int, int] = {}
    for user, item, _, at in likes[held].tolist():
        test.setdefault(user, set()).add(item)
        cut[user] = min(cut.get(user, at), at)
    dislikes = reactions[reactions[:, 2] <= DISLIKE]
    keep = np.array([at <= cut.get(u, at) for u, at in dislikes[:, [0, 3]].tolist()], dtype=bool)
    train = np.concatenate([likes[~held], dislikes[keep] if len(dislikes) else dislikes])
    return Split(
        "user",
        f"per user: newest {share:.0%} of likes held out (users with >= {min_likes} likes); "
        "earlier likes and dislikes ingested",
        train[np.lexsort((train[:, 1], train[:, 3]))],
        test,
    )


def split_time(ratings: np.ndarray, quantile: float = 0.8) -> Split:
    """One global cut at the ``quantile`` of reaction times: after it held out, else ingested.

    Scored: users with an ingested reaction and a held-out like.

    Examples
    --------
    >>> rows = np.array([[1, 1, 5, 10], [1, 2, 5, 20], [2, 3, 5, 30], [1, 4, 1, 40],
    ...                  [1, 5, 4, 50]])
    >>> s = split_time(rows, 0.6)
    >>> s.test, sorted(s.train[:, 1].tolist())
    ({1: {5}}, [1, 2, 3])
    """
    reactions = reactions_of(ratings)
    cut = int(np.quantile(reactions[:, 3], quantile))
    train = reactions[reactions[:, 3] <= cut]
    later = reactions[(reactions[:, 3] > cut) & (reactions[:, 2] >= LIKE)]
    known = set(train[:, 0].tolist())
    test: dict[int, set[int]] = {}
    for user, item in later[:, :2].tolist():
        if user in known:
            test.setdefault(user, set()).add(item)
    stamp = datetime.fromtimestamp(cut, UTC).isoformat()
    return Split(
        "time",
        f"global: reactions after {stamp} (the {quantile:.0%} quantile) held out; "
        "users with training history scored",
        train[np.lexsort((train[:, 1], train[:, 3]))],
        test,
    )


SPLITS: dict[str, Callable[[np.ndarray], Split]] = {"user": split_user, "time": split_time}


def score_lists(
    tops: Mapping[int, Sequence[int]], test: Mapping[int, set[int]], k: int = K
) -> dict[str, np.ndarray]:
    """Per-user ``ndcg``, ``precision`` and ``recall`` arrays, users in ``sorted(test)`` order
    (the job's definitions, :mod:`training_jobs.metrics`; a short answer is padded with no
    item, so a user the route answered with nothing scores zero).

    Examples
    --------
    >>> score_lists({7: [3, 1, 2]}, {7: {1, 2}}, k=2)["ndcg"].round(4).tolist()
    [0.3869]
    """
    from training_jobs.metrics import ndcg_per_user

    users = sorted(test)
    top = np.full((len(users), k), -1, dtype=np.int64)
    for row, user in enumerate(users):
        answer = list(tops.get(user, ()))[:k]
        top[row, : len(answer)] = answer
    relevant = [test[u] for u in users]
    found = np.array(
        [sum(int(i) in rel for i in row) for row, rel in zip(top, relevant, strict=True)]
    )
    sizes = np.array([max(len(rel), 1) for rel in relevant])
    return {
        "ndcg": ndcg_per_user(top, relevant, k),
        "precision": found / k,
        "recall": np.where([bool(rel) for rel in relevant], found / sizes, 0.0),
    }


def bootstrap_interval(values: np.ndarray, *, seed: int = 0) -> tuple[float, float]:
    """The 95 % interval of the mean of per-user ``values`` over 2,000 seeded resamples of the
    users (registration's :func:`~learnloop.models.champion.paired_interval`; a paired
    difference is the interval of the per-user differences); ``(nan, nan)`` below 2 users.
    """
    from learnloop.models.champion import paired_interval

    found = paired_interval(values, resamples=2000, seed=seed)
    return found if found is not None else (math.nan, math.nan)


def seen_items(train: np.ndarray) -> dict[int, set[int]]:
    """Each user's reacted items (likes and dislikes): what the route leaves out."""
    seen: dict[int, set[int]] = {}
    for user, item in train[:, :2].tolist():
        seen.setdefault(user, set()).add(item)
    return seen


def popularity_tops(train: np.ndarray, users: Iterable[int], k: int = K) -> dict[int, list[int]]:
    """Items by training likes (ties: lower id first), each user's reacted items left out.

    Examples
    --------
    >>> train = np.array([[1, 7, 5, 0], [2, 7, 5, 0], [2, 8, 4, 0], [3, 9, 1, 0]])
    >>> popularity_tops(train, [1, 3], k=2)
    {1: [8], 3: [7, 8]}
    """
    likes = train[train[:, 2] >= LIKE]
    items, counts = np.unique(likes[:, 1], return_counts=True)
    ranked = items[np.lexsort((items, -counts))].tolist()
    seen = seen_items(train)
    tops = {}
    for user in users:
        mine = seen.get(user, set())
        tops[user] = [i for i in ranked if i not in mine][:k]
    return tops


def als_tops(
    train: np.ndarray, users: Iterable[int], k: int = K, seed: int = 0
) -> dict[int, list[int]]:
    """``implicit``'s ALS with its default settings on the training likes, reacted items out."""
    from implicit.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix

    likes = train[train[:, 2] >= LIKE]
    user_ids, user_rows = np.unique(likes[:, 0], return_inverse=True)
    item_ids, item_cols = np.unique(likes[:, 1], return_inverse=True)
    matrix = csr_matrix(
        (np.ones(len(likes), dtype=np.float32), (user_rows, item_cols)),
        shape=(len(user_ids), len(item_ids)),
    )
    model = AlternatingLeastSquares(random_state=seed)
    model.fit(matrix, show_progress=False)
    factors_u, factors_i = (np.asarray(f) for f in (model.user_factors, model.item_factors))
    row_of = {int(u): r for r, u in enumerate(user_ids)}
    col_of = {int(i): c for c, i in enumerate(item_ids)}
    seen = seen_items(train)
    tops: dict[int, list[int]] = {}
    for user in users:
        if user not in row_of:  # no training like: ALS has no row for them
            tops[user] = []
            continue
        scores = factors_i @ factors_u[row_of[user]]
        for item in seen.get(user, ()):
            if item in col_of:
                scores[col_of[item]] = -np.inf
        tops[user] = item_ids[np.argsort(-scores, kind="stable")[:k]].tolist()
    return tops


def reaction_rows(train: np.ndarray, texts: Mapping[int, str]) -> list[dict[str, Any]]:
    """The batch route's rows: the user's time as ``occurred_at``, the item text as snapshot."""
    return [
        {
            "user_id": f"u{user}",
            "content_type": CONTENT_TYPE,
            "external_id": str(item),
            "reaction": "like" if rating >= LIKE else "dislike",
            "occurred_at": datetime.fromtimestamp(at, UTC).isoformat(),
            "content": {"text": texts.get(item, f"movie {item}")},
        }
        for user, item, rating, at in train.tolist()
    ]


def summary(values: np.ndarray, seed: int) -> dict[str, float]:
    """Mean and 95 % bootstrap interval, rounded for the report."""
    low, high = bootstrap_interval(values, seed=seed)
    return {"mean": round(float(values.mean()), 4), "low": round(low, 4), "high": round(high, 4)}


# --- the run on the local stack ------------------------------------------------------------


def _cli(args: list[str], *, echo_prefix: str) -> tuple[int, str, float]:
    """Run ``learnloop ARGS`` as a subprocess; stream its stderr, keep stdout; exit code,
    stdout and wall seconds."""
    env = dict(os.environ)
    # The worktree's code, not whatever the venv installed in editable mode.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "layers"), str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    started = time.perf_counter()
    # stdout to a file: a reply bigger than a pipe's buffer would block the child while this
    # process reads its stderr.
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "learnloop_tools.cli", *args],
            env=env,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        for line in process.stderr:  # progress lines, as the user sees them
            print(f"  {echo_prefix}: {line.rstrip()}", file=sys.stderr, flush=True)
        code = process.wait()
        out.seek(0)
        return code, out.read(), time.perf_counter() - started


def _wait_for_production(admin: Any, version: str, timeout: float = 600.0) -> dict[str, Any]:
    """Poll ``GET /v1/models`` until ``version`` is production or registration decided
    otherwise; the version's record."""
    deadline = time.monotonic() + timeout
    while True:
        model = admin.list_models()["models"].get("two_tower", {})
        record = next((v for v in model.get("versions", []) if v["version"] == version), None)
        if model.get("production") == version or (record and record["status"] != "candidate"):
            return {"production": model.get("production"), **(record or {})}
        if time.monotonic() > deadline:
            raise SystemExit(f"two_tower {version} not registered within {timeout:.0f} s")
        time.sleep(1.0)


def run_stack(
    split: Split, texts: Mapping[int, str], users: list[int], args: Any
) -> tuple[dict[str, Any], dict[int, list[int]]]:
    """Ingest, export, train, register and serve on a fresh local stack: the step figures and
    each user's recommended items, best first.

    Raises
    ------
    SystemExit
        When a step fails (its exit code and output) or the version is not promoted.
    """
    from tqdm import tqdm

    from learnloop.client import Client
    from learnloop.models.artifacts import artifact_prefix
    from learnloop.store.clients import s3_client
    from learnloop_tools.local import Runner

    oldest = datetime.fromtimestamp(int(split.train[:, 3].min()), UTC)
    # The route refuses rows older than this setting; a backfill this old must raise it.
    os.environ["LEARNLOOP_MAX_EVENT_AGE_DAYS"] = str((datetime.now(UTC) - oldest).days + 30)
    os.environ["LEARNLOOP_CONTENT_TYPES"] = CONTENT_TYPE
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(
            port=0, state_dir=tmp, snapshot_seconds=0, app_path=APP, app_schedules=False
        )
        with runner:
            ingest = Client(runner.api_url, key=runner.keys["ingest"], timeout=120)
            read = Client(runner.api_url, key=runner.keys["read"], timeout=120)
            admin = Client(runner.api_url, key=runner.keys["admin"], timeout=120)

            rows = reaction_rows(split.train, texts)
            print(f"[1/4] ingest: {len(rows):,} reactions via POST /v1/reactions/batch", flush=True)
            totals: dict[str, int] = {}
            started = time.perf_counter()
            with tqdm(total=len(rows), unit="row", file=sys.stderr, mininterval=5) as bar:
                for at in range(0, len(rows), BATCH):
                    done = ingest.put_reactions(rows[at : at + BATCH])
                    for name, value in done.totals.items():
                        totals[name] = totals.get(name, 0) + value
                    bar.update(min(BATCH, len(rows) - at))
            figures["ingest_s"] = round(time.perf_counter() - started, 1)
            figures["ingest_replies"] = totals

            first, last = (
                datetime.fromtimestamp(int(t), UTC).date().isoformat()
                for t in (split.train[:, 3].min(), split.train[:, 3].max())
            )
            print(f"[2/4] export_training_data --from {first} --to {last}", flush=True)
            code, out, seconds = _cli(
                ["job", "run", "export_training_data", "--from", first, "--to", last,
                 "--state-dir", tmp],
                echo_prefix="export",
            )  # fmt: skip
            if code:
                raise SystemExit(f"export_training_data exited with {code}: {out[-2000:]}")
            exported = json.loads(out)
            figures["export_s"] = round(seconds, 1)
            figures["export_days"] = len(exported.get("days", [exported]))

            # Options after NAME go to the job: the CLI's own come first.
            job_args = ["two_tower"]
            if args.budget_seconds is not None:
                job_args += ["--budget-seconds", str(args.budget_seconds)]
            print(f"[3/4] learnloop train {' '.join(job_args)}", flush=True)
            code, out, seconds = _cli(["train", "--state-dir", tmp, *job_args], echo_prefix="train")
            if code:
                raise SystemExit(f"learnloop train two_tower exited with {code}: {out[-2000:]}")
            trained = json.loads(out.strip().splitlines()[-1])
            figures["job_s"] = round(seconds, 1)
            figures["version"] = trained["version"]
            figures["job_metrics"] = {
                name: round(trained["metrics"][name], 4)
                for name in ("ndcg@10", "popularity_ndcg@10")
                if name in trained["metrics"]
            }
            key = f"{artifact_prefix('two_tower', trained['version'])}manifest.json"
            body = s3_client(runner.settings).get_object(Bucket=runner.settings.bucket, Key=key)
            extra = json.loads(body["Body"].read())["extra"]
            figures["chosen"] = extra["model"]
            figures["chosen_params"] = extra.get("hyperparameters")
            # The bucket watcher (every 2 s) registers while the job ends: this is the wait
            # left after it.
            started = time.perf_counter()
            record = _wait_for_production(admin, trained["version"])
            figures["registration_s"] = round(time.perf_counter() - started, 1)
            figures["registration"] = {
                "status": record.get("status"),
                "reason": record.get("reason"),
            }
            if record.get("production") != trained["version"]:
                raise SystemExit(f"the trained version was not promoted: {record}")

            print(f"[4/4] GET /v1/recommendations?k={K} for {len(users):,} users", flush=True)
            tops: dict[int, list[int]] = {}
            strategies: dict[str, int] = {}
            latencies = []
            started = time.perf_counter()
            for user in tqdm(users, unit="user", file=sys.stderr, mininterval=5):
                began = time.perf_counter()
                reply = read.get_recommendations(user_id=f"u{user}", k=K, seed=0)
                latencies.append(time.perf_counter() - began)
                tops[user] = [int(item["external_id"]) for item in reply["items"]]
                strategies[reply["strategy"]] = strategies.get(reply["strategy"], 0) + 1
            figures["scoring_s"] = round(time.perf_counter() - started, 1)
            ms = np.asarray(latencies) * 1000
            figures["route_p50_ms"] = round(float(np.percentile(ms, 50)), 1)
            figures["route_p90_ms"] = round(float(np.percentile(ms, 90)), 1)
            figures["strategies"] = strategies
    return figures, tops


def run(args: argparse.Namespace) -> dict[str, Any]:
    ratings, texts = load(args.data)
    if args.quick:  # a seeded 150 users' reactions: a smoke run of every step
        rng = np.random.default_rng(args.seed)
        kept = rng.choice(np.unique(ratings[:, 0]), size=150, replace=False)
        ratings = ratings[np.isin(ratings[:, 0], kept)]
        if args.budget_seconds is None:
            args.budget_seconds = 20.0
    split = SPLITS[args.split](ratings)
    users = sorted(split.test)
    if args.users and args.users < len(users):
        rng = np.random.default_rng(args.seed)
        users = sorted(rng.choice(users, size=args.users, replace=False).tolist())
    test = {u: split.test[u] for u in users}
    likes = int((split.train[:, 2] >= LIKE).sum())
    print(
        f"split {split.name}: {split.description}\n"
        f"  {len(split.train):,} reactions to ingest ({likes:,} likes), "
        f"{sum(map(len, test.values())):,} held-out likes of {len(test):,} scored users",
        flush=True,
    )
    stack, tops = run_stack(split, texts, users, args)
    served = score_lists(tops, test)
    popular = score_lists(popularity_tops(split.train, users), test)
    models = {"served": served, "popularity": popular}
    if not args.no_als:
        models["als_defaults"] = score_lists(als_tops(split.train, users, seed=args.seed), test)
    figures: dict[str, Any] = {
        "split": split.name,
        "split_rule": split.description,
        "reactions_ingested": len(split.train),
        "likes_ingested": likes,
        "users_scored": len(users),
        "held_out_likes": sum(map(len, test.values())),
        "quick": bool(args.quick),
        **stack,
    }
    for name, values in models.items():
        figures[name] = {
            "ndcg@10": summary(values["ndcg"], args.seed),
            "precision@10": round(float(values["precision"].mean()), 4),
            "recall@10": round(float(values["recall"].mean()), 4),
        }
    figures["served_minus_popularity_ndcg@10"] = summary(
        served["ndcg"] - popular["ndcg"], args.seed
    )
    return figures


def _params(params: Mapping[str, Any] | None) -> str:
    """Settings in one short line: numbers to 3 significant digits."""
    items = (params or {}).items()
    shown = {k: (float(f"{v:.3g}") if isinstance(v, float) else v) for k, v in items}
    return json.dumps(shown, separators=(",", ":"))


def report_rows(f: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The table's rows from the figures."""

    def ndcg(name: str) -> str:
        n = f[name]["ndcg@10"]
        return (
            f"NDCG@10 {n['mean']:.4f} [{n['low']:.4f}, {n['high']:.4f}], "
            f"P@10 {f[name]['precision@10']:.4f}, R@10 {f[name]['recall@10']:.4f}"
        )

    diff = f["served_minus_popularity_ndcg@10"]
    rows = [
        ("split", f"{f['split']}: {f['split_rule']}"),
        (
            "ingested / scored",
            f"{f['reactions_ingested']:,} reactions ({f['likes_ingested']:,} likes); "
            f"{f['users_scored']:,} users, {f['held_out_likes']:,} held-out likes",
        ),
        ("chosen by the job (extra.model)", f"{f['chosen']} {_params(f['chosen_params'])}"),
        (f"served ({f['chosen']})", ndcg("served")),
        ("popularity (same exclusion)", ndcg("popularity")),
    ]
    if "als_defaults" in f:
        rows.append(("ALS, implicit defaults", ndcg("als_defaults")))
    rows += [
        (
            "served - popularity NDCG@10",
            f"{diff['mean']:+.4f} [{diff['low']:+.4f}, {diff['high']:+.4f}] (paired)",
        ),
        ("strategies served", ", ".join(f"{k} {v}" for k, v in f["strategies"].items())),
        (
            "ingest",
            f"{f['ingest_s']:,.1f} s, {f['reactions_ingested'] / f['ingest_s']:,.0f} rows/s "
            f"({', '.join(f'{k} {v:,}' for k, v in f['ingest_replies'].items())})",
        ),
        ("export", f"{f['export_s']:,.1f} s ({f['export_days']} days)"),
        ("job (learnloop train two_tower)", f"{f['job_s']:,.1f} s"),
        (
            "registration (wait after the job)",
            f"{f['registration_s']:,.1f} s ({f['registration']['status']})",
        ),
        (
            "GET /v1/recommendations",
            f"p50 {f['route_p50_ms']:,.1f} ms, p90 {f['route_p90_ms']:,.1f} ms "
            f"({f['scoring_s']:,.1f} s for {f['users_scored']:,} users)",
        ),
    ]
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=DATA, help="u.data and u.item")
    parser.add_argument("--split", choices=sorted(SPLITS), default="user")
    parser.add_argument("--users", type=int, default=0, help="score a sample (default: all)")
    parser.add_argument("--quick", action="store_true", help="150 users' reactions, 20 s job")
    parser.add_argument("--budget-seconds", type=float, default=None, help="the job's budget")
    parser.add_argument("--no-als", action="store_true", help="skip the ALS context figure")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)
    for path in (ROOT / "layers", ROOT):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    figures = run(args)
    print_report(report_rows(figures), figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()
