"""The two-tower model at serving time: item and user matrices, id maps, exact top-K.

A :class:`TwoTowerIndex` is one loaded ``two_tower`` version (contract C): the item matrix with
its rows regrouped by content type (so filtering by type is a contiguous slice, no copy, no
mask), ``item_key → row``, the user matrix and ``pseudonym → row``. Scores are dot products;
the K best come from :func:`top_k` (``numpy.argpartition``, then a sort of those K only).

Exact search reads the whole (filtered) matrix once per request: 100k items x 64 floats is
25.6 MB, a few milliseconds of memory bandwidth (``bench/recommend.py`` measures both). From
``ann_min_rows`` rows on, a version that ships IVF indexes (:mod:`learnloop.recommender.ann`)
is searched approximately: the index proposes candidates, which are re-scored exactly; when
too few candidates survive the type filter and the exclusions, the search falls back to exact.

Only numpy (and onnxruntime, for the item tower) is imported: this runs in the serving Lambda.

Examples
--------
>>> import numpy as np
>>> index = TwoTowerIndex(
...     "two_tower", "20261120T093000Z",
...     item_keys=["meme#a", "news#b", "meme#c"], content_types=["meme", "news", "meme"],
...     popularity=[5, 1, 0], item_matrix=np.array([[1, 0], [0, 1], [0.5, 0.5]], np.float32),
...     users=["p1"], user_matrix=np.array([[1, 0.2]], np.float32))
>>> [(index.item_keys[r], round(s, 2)) for r, s in index.recommend(index.user_vector("p1"), k=2)]
[('meme#a', 1.0), ('meme#c', 0.6)]
>>> [index.item_keys[r] for r, _ in index.recommend(index.user_vector("p1"), k=2,
...                                                  content_type="news")]
['news#b']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from learnloop.exceptions import ModelLoadError
from learnloop.models import kinds
from learnloop.recommender.ann import (
    ANN_FILES,
    ANN_ITEMS_COSINE_FILE,
    ANN_ITEMS_FILE,
    ANN_USERS_COSINE_FILE,
    DEFAULT_MIN_ROWS,
    AnnIndex,
    load_ann_files,
)

if TYPE_CHECKING:
    from learnloop.models.cache import ProductionRef, S3ArtifactLoader

__all__ = [
    "SERVED_FILES",
    "ItemTower",
    "TwoTowerIndex",
    "load_two_tower",
    "load_two_tower_artifact",
    "top_k",
]

#: What serving reads of a two-tower artifact (the towers stay in the bucket).
SERVED_FILES = ("item_embeddings.npy", "items.json", "user_embeddings.npy", "users.json")
ITEM_TOWER_FILE = "item_tower.onnx"


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest scores, best first; ``-inf`` scores never appear.

    ``partition`` finds the K-th best score in linear time, then only the scores at or above
    it are sorted. Equal scores come in position order, so exact and approximate search (and
    two containers) rank tied items alike; a strongly regularised ALS ties items that were
    liked by the same users.

    Examples
    --------
    >>> import numpy as np
    >>> top_k(np.array([0.1, 0.9, -np.inf, 0.5], dtype=np.float32), 3).tolist()
    [1, 3, 0]
    >>> top_k(np.array([0.1, -np.inf]), 5).tolist()
    [0]
    >>> top_k(np.array([0.5, 0.9, 0.5, 0.5]), 3).tolist()
    [1, 0, 2]
    """
    n = scores.shape[0]
    if k <= 0 or n == 0:
        return np.empty(0, dtype=np.int64)
    best = np.flatnonzero(scores >= np.partition(scores, n - k)[n - k]) if k < n else np.arange(n)
    best = best[np.argsort(-scores[best], kind="stable")][:k]
    return best[np.isfinite(scores[best])]


class ItemTower:
    """The item tower of a two-tower version: embeds an item the matrix does not hold yet
    from its text embedding and content type (an item published after training).

    Each graph input plays a role: ``text_embedding`` (float, 384 wide), ``content_type``
    (int, an index into ``content_types``) or ``item_id`` (int, fed ``unknown_index``: the
    slot the job trains for items without positives). Roles come from the manifest
    (``extra.towers.item.inputs[i].role``) or, when it declares none, from each input's type
    and name.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        The loaded ``item_tower.onnx``.
    roles : dict of str to str
        Input name → role.
    content_types : sequence of str
        The content-type vocabulary, in the tower's index order.
    unknown_index : int, default 0
        What the item-id input is fed.
    output : str, optional
        The embedding output (default: the first).
    """

    ROLES = ("text_embedding", "content_type", "item_id")

    def __init__(
        self,
        session: Any,
        roles: Mapping[str, str],
        content_types: Sequence[str],
        *,
        unknown_index: int = 0,
        output: str | None = None,
    ) -> None:
        self.session = session
        self.roles = dict(roles)
        self.content_types = list(content_types)
        self.unknown_index = unknown_index
        self.output = output or session.get_outputs()[0].name
        self._ranks = {i.name: len(i.shape or [None]) for i in session.get_inputs()}

    @classmethod
    def from_artifact(
        cls, model_bytes: bytes, manifest: Mapping[str, Any], content_types: Sequence[str]
    ) -> ItemTower | None:
        """The tower of an artifact, or None when its inputs' roles cannot be told apart."""
        import onnxruntime as ort

        extra: Any = manifest.get("extra") if isinstance(manifest.get("extra"), Mapping) else {}
        towers: Any = extra.get("towers") if isinstance(extra.get("towers"), Mapping) else {}
        declared: Any = next(
            (towers[k] for k in ("item", "item_tower", "item_tower.onnx") if k in towers), {}
        )
        declared_roles = {
            d["name"]: d["role"]
            for d in (declared.get("inputs") if isinstance(declared, Mapping) else None) or []
            if isinstance(d, Mapping) and isinstance(d.get("name"), str) and "role" in d
        }
        try:
            session = ort.InferenceSession(bytes(model_bytes), providers=["CPUExecutionProvider"])
        except Exception:  # onnxruntime raises its own untyped errors; serving goes on without
            return None
        roles: dict[str, str] = {}
        for arg in session.get_inputs():
            role = declared_roles.get(arg.name) or _infer_role(arg)
            if role not in cls.ROLES:
                return None
            roles[arg.name] = role
        # Exactly one text input, and ids/types as the only others: anything else (numeric
        # item features, say) is a tower this server does not know how to feed.
        if list(roles.values()).count("text_embedding") != 1:
            return None
        # The training job records its vocabulary and unknown-id slot with the towers.
        vocab = extra.get("content_types", towers.get("content_types"))
        if not (isinstance(vocab, list) and all(isinstance(v, str) for v in vocab)):
            vocab = sorted(set(content_types))
        unknown = extra.get("unknown_item_index", towers.get("unknown_index", 0))
        return cls(session, roles, vocab, unknown_index=unknown if isinstance(unknown, int) else 0)

    def embed(self, text_embedding: np.ndarray, content_type: str) -> np.ndarray | None:
        """The item embedding ``(d,)``, or None when ``content_type`` is not in the vocabulary
        or the tower cannot embed the input.

        Examples
        --------
        >>> tower.embed(encoder.encode(["a new meme"])[0], "meme").shape  # doctest: +SKIP
        (64,)
        """
        if "content_type" in self.roles.values() and content_type not in self.content_types:
            return None
        feed: dict[str, np.ndarray] = {}
        for name, role in self.roles.items():
            rank = self._ranks.get(name, 1)
            if role == "text_embedding":
                value = np.asarray(text_embedding, dtype=np.float32).reshape(1, -1)
            elif role == "content_type":
                value = np.array([self.content_types.index(content_type)], dtype=np.int64)
            else:
                value = np.array([self.unknown_index], dtype=np.int64)
            if role != "text_embedding" and rank == 2:
                value = value.reshape(1, 1)
            feed[name] = value
        try:
            result = self.session.run([self.output], feed)[0]
        except Exception:  # onnxruntime raises its own untyped errors: treat as "cannot embed"
            return None
        vector: np.ndarray = np.asarray(result, dtype=np.float32).reshape(-1)
        return vector if np.all(np.isfinite(vector)) else None


def _infer_role(arg: Any) -> str | None:
    name = arg.name.lower()
    if arg.type in ("tensor(float)", "tensor(double)"):
        width = (arg.shape or [None])[-1]
        return "text_embedding" if not isinstance(width, int) or width == 384 else None
    if arg.type in ("tensor(int64)", "tensor(int32)"):
        return "content_type" if "type" in name else "item_id"
    return None


class TwoTowerIndex:
    """One loaded two-tower version: matrices, id maps and the searches over them.

    Parameters
    ----------
    name, version : str
        Which model version this is.
    item_keys, content_types : sequence of str
        Row-aligned with ``item_matrix`` (``items.json``).
    popularity : sequence of int
        Training positives per item (``items.json``), for the unknown-user fallback.
    item_matrix : numpy.ndarray
        float32 ``(n_items, d)``.
    users : sequence of str
        Pseudonyms, row-aligned with ``user_matrix`` (``users.json``).
    user_matrix : numpy.ndarray
        float32 ``(n_users, d)``.
    item_tower : ItemTower, optional
        Embeds items published after training (from their text).
    ann : mapping of str to AnnIndex, optional
        The version's approximate indexes by file name (``ann_items.faiss``, ...), built over
        the artifact's row order.
    ann_min_rows : int, default 50,000
        Searches over at least this many rows use ``ann`` (when it has that index).
    history_matrix : numpy.ndarray, optional
        Row-aligned with ``item_matrix``: what :meth:`history_vector` averages
        (``history_embeddings.npy``; default the item embeddings).

    Attributes
    ----------
    item_keys : list of str
        In the index's row order (grouped by content type, stable within a type).
    type_slices : dict of str to slice
        The rows of each content type.
    """

    def __init__(
        self,
        name: str,
        version: str,
        *,
        item_keys: Sequence[str],
        content_types: Sequence[str],
        popularity: Sequence[int],
        item_matrix: np.ndarray,
        users: Sequence[str],
        user_matrix: np.ndarray,
        item_tower: ItemTower | None = None,
        ann: Mapping[str, AnnIndex] | None = None,
        ann_min_rows: int = DEFAULT_MIN_ROWS,
        history_matrix: np.ndarray | None = None,
    ) -> None:
        self.name = name
        self.item_tower = item_tower
        self.version = version
        types = np.asarray(content_types, dtype=object)
        # Rows grouped by type (stable): a type filter is a view of contiguous memory.
        order = np.argsort(types, kind="stable") if len(types) else np.arange(0)
        self.item_keys: list[str] = [item_keys[i] for i in order]
        self.content_types: list[str] = [str(types[i]) for i in order]
        self.popularity = np.asarray(popularity, dtype=np.float64)[order]
        self.item_matrix = np.ascontiguousarray(np.asarray(item_matrix, np.float32)[order])
        self.item_norms = np.linalg.norm(self.item_matrix, axis=1)
        self.history_matrix = (
            self.item_matrix
            if history_matrix is None
            else np.ascontiguousarray(np.asarray(history_matrix, np.float32)[order])
        )
        #: Similar items from the history rows (see :meth:`similar_items`).
        self.item_to_item = history_matrix is not None
        self.item_row: dict[str, int] = {key: row for row, key in enumerate(self.item_keys)}
        self.type_slices: dict[str, slice] = {}
        for row, kind in enumerate(self.content_types):
            current = self.type_slices.get(kind)
            self.type_slices[kind] = slice(current.start if current else row, row + 1)
        self.users: list[str] = list(users)
        self.user_matrix = np.ascontiguousarray(user_matrix, dtype=np.float32)
        self.user_norms = np.linalg.norm(self.user_matrix, axis=1)
        self.user_row: dict[str, int] = {user: row for row, user in enumerate(self.users)}
        self.dim = int(self.item_matrix.shape[1]) if self.item_matrix.ndim == 2 else 0
        self._orders: dict[str | None, np.ndarray] = {}
        self.ann: dict[str, AnnIndex] = dict(ann or {})
        self.ann_min_rows = ann_min_rows
        # The indexes number items in the artifact's order; rows here are grouped by type.
        self._row_of_id = np.empty(len(order), dtype=np.int64)
        self._row_of_id[order] = np.arange(len(order), dtype=np.int64)

    @property
    def n_items(self) -> int:
        """Number of items."""
        return len(self.item_keys)

    def user_vector(self, pseudonym: str) -> np.ndarray | None:
        """The user's embedding, or None when the model was not trained on them."""
        row = self.user_row.get(pseudonym)
        return None if row is None else self.user_matrix[row]

    def history_vector(self, item_keys: Iterable[str]) -> np.ndarray | None:
        """The mean history row of the given items the index knows (None when it knows none):
        a profile for a user who reacted only after the model was trained. The rows are the
        item embeddings unless the version ships ``history_embeddings.npy`` (EASE), whose mean
        is the model's own profile of that user."""
        rows = [self.item_row[k] for k in item_keys if k in self.item_row]
        if not rows:
            return None
        vector: np.ndarray = self.history_matrix[rows].mean(axis=0)
        return vector

    def recommend(
        self,
        query: np.ndarray,
        *,
        k: int,
        content_type: str | None = None,
        exclude: Iterable[str] = (),
    ) -> list[tuple[int, float]]:
        """The ``k`` items of highest dot product with ``query``: ``[(row, score), ...]``.

        Parameters
        ----------
        query : numpy.ndarray
            A user embedding, ``(d,)``.
        k : int
            How many.
        content_type : str, optional
            Only items of this type (an unknown type has none).
        exclude : iterable of str
            Item keys never to return (what the user already reacted to).
        """
        rows = self._rows(content_type)
        vector = np.asarray(query, dtype=np.float32)
        approximate = self._approximate(
            ANN_ITEMS_FILE, vector, rows, k, exclude, lambda r: self.item_matrix[r] @ vector
        )
        if approximate is not None:
            return approximate
        scores = self.item_matrix[rows] @ vector
        return self._best(scores, rows, k, exclude)

    def popular(
        self,
        *,
        k: int,
        n_users: int | None = None,
        content_type: str | None = None,
        exclude: Iterable[str] = (),
        random_state: int | np.random.Generator | None = None,
        pool: int = 1000,
    ) -> list[tuple[int, float]]:
        """Popular items with exploration: Thompson sampling over item popularity.

        Each item's like rate among users is Beta(positives + 1, n_users - positives + 1);
        one draw per item ranks them. Popular items usually win, rarely-seen items now and
        then surface, so the fallback keeps learning about them. The score returned is the
        draw. Over a large catalogue the draws cover a pool: the ``pool`` most popular items
        (of the type) plus ``pool`` drawn uniformly from the rest, so a request costs
        O(pool), not O(items); with at most ``2 * pool`` items every item is drawn.

        Parameters
        ----------
        k : int
            How many.
        n_users : int, optional
            Users the popularity was counted over (default: the model's users, at least the
            highest popularity).
        content_type : str, optional
            Only items of this type.
        exclude : iterable of str
            Item keys never to return.
        random_state : int or numpy.random.Generator, optional
            Seeds the draws (the same seed, the same list).
        pool : int, default 1000
            Candidates taken from the top of the popularity order (and as many at random).

        Examples
        --------
        >>> import numpy as np
        >>> index = TwoTowerIndex("t", "v", item_keys=["a#1", "a#2", "a#3"],
        ...     content_types=["a"] * 3, popularity=[900, 10, 0],
        ...     item_matrix=np.eye(3, dtype=np.float32), users=["p"],
        ...     user_matrix=np.ones((1, 3), np.float32))
        >>> [index.item_keys[r] for r, _ in index.popular(k=2, n_users=1000, random_state=0)]
        ['a#1', 'a#2']
        """
        rows = self._rows(content_type)
        start, n = rows.start or 0, rows.stop - (rows.start or 0)
        excluded = list(exclude)
        # Enough candidates that excluded items cannot crowd the head out.
        pool = max(pool, 4 * (k + len(excluded)))
        rng = np.random.default_rng(random_state)
        if n <= 2 * pool:
            candidates = np.arange(n)
        else:
            order = self._popularity_order(content_type)
            tail = rng.choice(n - pool, size=pool, replace=False) + pool
            candidates = np.concatenate([order[:pool], order[tail]])
        positives = self.popularity[start + candidates]
        total = max(
            float(n_users if n_users is not None else len(self.users)),
            float(positives.max()) if len(positives) else 0.0,
        )
        draws = rng.beta(positives + 1.0, total - positives + 1.0)
        blocked = {self.item_row[key] - start for key in excluded if key in self.item_row}
        if blocked:
            draws[np.isin(candidates, list(blocked))] = -np.inf
        return [(int(start + candidates[i]), float(draws[i])) for i in top_k(draws, k)]

    def _popularity_order(self, content_type: str | None) -> np.ndarray:
        # Rows of the type (relative to its slice), most popular first; computed once.
        order = self._orders.get(content_type)
        if order is None:
            rows = self._rows(content_type)
            order = np.argsort(-self.popularity[rows], kind="stable")
            self._orders[content_type] = order
        return order

    def similar_items(
        self,
        item_key: str,
        *,
        k: int,
        content_type: str | None = None,
        exclude: Iterable[str] = (),
    ) -> list[tuple[int, float]] | None:
        """The ``k`` items most cosine-similar to ``item_key`` (itself and ``exclude`` left
        out), or None when the index does not know it.

        A version with its own history rows (EASE) answers with its item-item weights instead:
        the items it would recommend to a user whose only item is this one (dot products).
        """
        row = self.item_row.get(item_key)
        if row is None:
            return None
        if self.item_to_item:
            return self.recommend(
                self.history_matrix[row],
                k=k,
                content_type=content_type,
                exclude=(*exclude, item_key),
            )
        return self.similar_to_vector(
            self.item_matrix[row], k=k, content_type=content_type, exclude=(*exclude, item_key)
        )

    def similar_to_vector(
        self,
        vector: np.ndarray,
        *,
        k: int,
        content_type: str | None = None,
        exclude: Iterable[str] = (),
    ) -> list[tuple[int, float]]:
        """The ``k`` items most cosine-similar to an item embedding ``vector``."""
        rows = self._rows(content_type)
        query = np.asarray(vector, dtype=np.float32)
        query_norm = _norm(query)

        def cosine(r: Any) -> np.ndarray:
            result: np.ndarray = (self.item_matrix[r] @ query) / _safe(
                self.item_norms[r] * query_norm
            )
            return result

        approximate = self._approximate(ANN_ITEMS_COSINE_FILE, query, rows, k, exclude, cosine)
        if approximate is not None:
            return approximate
        return self._best(cosine(rows), rows, k, exclude)

    def similar_users(
        self, pseudonym: str, *, k: int, exclude: Iterable[str] = ()
    ) -> list[tuple[int, float]] | None:
        """The ``k`` users most cosine-similar to ``pseudonym`` (themselves and the pseudonyms
        in ``exclude`` left out), or None when the model was not trained on them:
        ``[(user row, cosine), ...]``."""
        row = self.user_row.get(pseudonym)
        if row is None:
            return None
        query = self.user_matrix[row]
        ann = self.ann.get(ANN_USERS_COSINE_FILE)
        if ann is not None and len(self.users) >= self.ann_min_rows:
            left_out = {row} | {self.user_row[p] for p in exclude if p in self.user_row}
            ids = ann.search(query, k + len(left_out))
            ids = ids[~np.isin(ids, list(left_out))]
            if len(ids) >= min(k, len(self.users) - len(left_out)):
                cosines = (self.user_matrix[ids] @ query) / _safe(
                    self.user_norms[ids] * _norm(query)
                )
                return [(int(ids[i]), float(cosines[i])) for i in top_k(cosines, k)]
        scores = (self.user_matrix @ query) / _safe(self.user_norms * _norm(query))
        scores[row] = -np.inf
        for other in exclude:
            excluded = self.user_row.get(other)
            if excluded is not None:
                scores[excluded] = -np.inf
        return [(int(r), float(scores[r])) for r in top_k(scores, k)]

    # --- internals -------------------------------------------------------------------------

    def _rows(self, content_type: str | None) -> slice:
        if content_type is None:
            return slice(0, self.n_items)
        return self.type_slices.get(content_type, slice(0, 0))

    def _approximate(
        self,
        file: str,
        query: np.ndarray,
        rows: slice,
        k: int,
        exclude: Iterable[str],
        score: Any,
    ) -> list[tuple[int, float]] | None:
        """Top-k through the ``file`` index, candidates re-scored exactly by ``score(rows)``;
        None when exact search should answer (no index, few rows, too few candidates)."""
        ann = self.ann.get(file)
        start, stop = rows.start or 0, rows.stop
        size = stop - start
        if ann is None or size < self.ann_min_rows or k <= 0:
            return None
        blocked = {
            row
            for row in (self.item_row.get(key) for key in exclude)
            if row is not None and start <= row < stop
        }
        wanted = min(k, size - len(blocked))
        if wanted <= 0:
            return []
        # A type filter keeps about its share of the candidates, from cells further away:
        # ask for more (x1.5 margin) from proportionally more cells.
        # Twice the candidates asked for: the 8-bit codes misorder scores closer than their
        # rounding, and the exact re-scoring below can only fix an order among what it is given.
        share = size / self.n_items
        fetch, probes = 2 * k + len(blocked), ann.n_probes
        if share < 1.0:
            fetch, probes = int(np.ceil(1.5 * fetch / share)), int(np.ceil(probes / share))
        found = ann.search(query, min(fetch, self.n_items), n_probes=probes)
        # In row order, so tied scores rank as exact search ranks them (see top_k).
        candidates = np.sort(self._row_of_id[found])
        candidates = candidates[(candidates >= start) & (candidates < stop)]
        if blocked:
            candidates = candidates[~np.isin(candidates, list(blocked))]
        if len(candidates) < wanted:
            return None
        scores = score(candidates)
        return [(int(candidates[i]), float(scores[i])) for i in top_k(scores, k)]

    def _best(
        self, scores: np.ndarray, rows: slice, k: int, exclude: Iterable[str]
    ) -> list[tuple[int, float]]:
        start = rows.start or 0
        for key in exclude:
            row = self.item_row.get(key)
            if row is not None and start <= row < rows.stop:
                scores[row - start] = -np.inf
        return [(int(start + r), float(scores[r])) for r in top_k(scores, k)]


def load_two_tower(
    name: str,
    version: str,
    files: Mapping[str, bytes],
    manifest: Mapping[str, Any] | None = None,
    *,
    ann_min_rows: int = DEFAULT_MIN_ROWS,
    ann_probes: int = 16,
) -> TwoTowerIndex:
    """A :class:`TwoTowerIndex` from a ``two_tower`` artifact's files.

    Reads ``item_embeddings.npy`` / ``user_embeddings.npy`` (``allow_pickle=False``) and
    ``items.json`` / ``users.json``; the towers are not needed to serve the matrices. The
    ANN indexes among ``files`` (:data:`~learnloop.recommender.ann.ANN_FILES`) are loaded when
    they match the matrices; an index that does not leaves that search exact.

    Raises
    ------
    ModelLoadError
        When a file is missing or does not match the others (the checks registration runs).

    Examples
    --------
    >>> load_two_tower("two_tower", "20261120T093000Z", {})
    Traceback (most recent call last):
    learnloop.exceptions.ModelLoadError: two_tower 20261120T093000Z: manifest is missing ...
    """

    missing = [f for f in SERVED_FILES if f not in files]
    if missing:
        raise ModelLoadError(
            f"{name} {version}: manifest is missing files.{', files.'.join(missing)}"
        )
    try:
        import json

        items = json.loads(files[kinds.ITEMS_FILE])
        users = json.loads(files[kinds.USERS_FILE])
        item_matrix = kinds.load_npy(files[kinds.ITEM_EMBEDDINGS_FILE], kinds.ITEM_EMBEDDINGS_FILE)
        user_matrix = kinds.load_npy(files[kinds.USER_EMBEDDINGS_FILE], kinds.USER_EMBEDDINGS_FILE)
        item_keys, types = list(items["item_keys"]), list(items["content_types"])
        popularity, pseudonyms = list(items["popularity"]), list(users["users"])
        history_matrix = (
            kinds.load_npy(files[kinds.HISTORY_EMBEDDINGS_FILE], kinds.HISTORY_EMBEDDINGS_FILE)
            if kinds.HISTORY_EMBEDDINGS_FILE in files
            else None
        )
    except (kinds.ArtifactRejectedError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{name} {version}: {exc}") from exc
    n, m = len(item_keys), len(pseudonyms)
    if (
        item_matrix.ndim != 2
        or user_matrix.ndim != 2
        or item_matrix.shape[0] != n
        or len(types) != n
        or len(popularity) != n
        or user_matrix.shape[0] != m
        or user_matrix.shape[1] != item_matrix.shape[1]
        or (history_matrix is not None and history_matrix.shape != item_matrix.shape)
    ):
        raise ModelLoadError(
            f"{name} {version}: matrices {list(item_matrix.shape)} / {list(user_matrix.shape)} "
            f"do not match {n} items and {m} users"
        )
    tower = None
    if ITEM_TOWER_FILE in files:
        tower = ItemTower.from_artifact(files[ITEM_TOWER_FILE], manifest or {}, types)
    ann = {}
    if any(f in files for f in ANN_FILES):
        ann = load_ann_files(
            files, n_items=n, n_users=m, dim=int(item_matrix.shape[1]), n_probes=ann_probes
        )
    return TwoTowerIndex(
        name,
        version,
        item_keys=item_keys,
        content_types=types,
        popularity=popularity,
        item_matrix=item_matrix,
        users=pseudonyms,
        user_matrix=user_matrix,
        item_tower=tower,
        ann=ann,
        ann_min_rows=ann_min_rows,
        history_matrix=history_matrix,
    )


def load_two_tower_artifact(
    loader: S3ArtifactLoader,
    ref: ProductionRef,
    *,
    ann_min_rows: int = DEFAULT_MIN_ROWS,
    ann_probes: int = 16,
) -> TwoTowerIndex:
    """Read the served files of ``ref`` from the bucket (sha256 verified) and load them; the
    ANN indexes too when the version has them.

    Examples
    --------
    >>> load_two_tower_artifact(S3ArtifactLoader(tables, s3), ref).version  # doctest: +SKIP
    '20261120T093000Z'
    """
    manifest, files = loader.read_artifact(
        ref, only=SERVED_FILES, optional=(ITEM_TOWER_FILE, kinds.HISTORY_EMBEDDINGS_FILE)
    )
    listed: Any = manifest.get("files")
    listed = listed if isinstance(listed, Mapping) else {}
    files = dict(files)
    for name in ANN_FILES:
        if name not in listed:
            continue
        try:  # an index serving cannot read (too large, corrupt) leaves its search exact
            files.update(loader.read_artifact(ref, only=(name,))[1])
        except ModelLoadError:
            continue
    return load_two_tower(
        ref.name,
        ref.version,
        files,
        manifest,
        ann_min_rows=ann_min_rows,
        ann_probes=ann_probes,
    )


def _norm(vector: np.ndarray) -> float:
    return float(np.linalg.norm(vector))


def _safe(denominator: np.ndarray) -> np.ndarray:
    # A zero vector has cosine 0 with everything, not NaN.
    return np.where(denominator > 0, denominator, np.inf)
