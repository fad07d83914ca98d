"""Approximate nearest neighbours for large catalogues: faiss IVF indexes shipped with a version.

Exact top-k reads the whole item matrix per request (:func:`~learnloop.recommender.index.top_k`):
fine up to tens of thousands of rows, a few milliseconds at 100k, tens at 1M. Above
``recommend_ann_min_rows`` the two-tower job also builds, next to the embeddings, an inverted
file index (faiss ``IndexIVFScalarQuantizer``: k-means cells, ``4 sqrt(n)`` of them, vectors
stored as 8-bit codes, a quarter of float32) per search, and serving reads only the
``recommend_ann_probes`` cells nearest the query:

``ann_items.faiss``
    recommendations: maximum inner product, turned into a nearest-neighbour search by the
    usual augmentation (each item gains one coordinate ``sqrt(M^2 - |x|^2)``, ``M`` the
    largest norm, the query gains a 0: the L2 order is then the dot-product order);
``ann_items_cosine.faiss`` / ``ann_users_cosine.faiss``
    similar items and users: nearest neighbours of the unit-normalised rows (the L2 order of
    unit vectors is the cosine order).

Candidates are re-scored exactly from the float32 matrix, so every score served is exact; only
the candidate set is approximate (``bench/recommend.py`` measures recall@10 against exact).
A version without these files (published before them, or below the threshold) is served
exactly, as before.

Why faiss, and why IVF: faiss ships manylinux2014 wheels that load on Lambda's python3.11
(glibc 2.26) and on 3.12, with numpy as its only dependency; hnswlib publishes no wheels (the
layers are built ``--only-binary``); usearch (57 MB with numkong) was no smaller than faiss
(66 MB). On this shared 2-core machine an HNSW graph of 100k rows took minutes to build (the
job's budget is minutes for everything) while IVF built in about 30 s and reached recall@10
0.99 at 16 probes; HNSW remains a constructor change away.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> items = rng.normal(size=(2000, 8)).astype(np.float32)
>>> ann = AnnIndex("ip", n_probes=16).fit(items)
>>> query = rng.normal(size=8).astype(np.float32)
>>> exact = set(np.argsort(-(items @ query))[:10].tolist())
>>> len(exact & set(ann.search(query, 10).tolist())) >= 9
True
>>> AnnIndex.from_bytes(ann.to_bytes(), "ip").n_rows_
2000
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

__all__ = [
    "ANN_FILES",
    "ANN_ITEMS_COSINE_FILE",
    "ANN_ITEMS_FILE",
    "ANN_USERS_COSINE_FILE",
    "DEFAULT_MIN_ROWS",
    "AnnIndex",
    "build_ann_files",
]

#: Rows from which the job builds an index and serving uses it (``recommend_ann_min_rows``).
DEFAULT_MIN_ROWS = 50_000
ANN_ITEMS_FILE = "ann_items.faiss"
ANN_ITEMS_COSINE_FILE = "ann_items_cosine.faiss"
ANN_USERS_COSINE_FILE = "ann_users_cosine.faiss"
ANN_FILES = (ANN_ITEMS_FILE, ANN_ITEMS_COSINE_FILE, ANN_USERS_COSINE_FILE)

Metric = Literal["ip", "cosine"]


def _faiss() -> Any:
    import faiss  # a serving dependency only when a version ships an index

    return faiss


class AnnIndex:
    """An inverted-file index over the rows of one matrix, searched by inner product or cosine.

    Parameters
    ----------
    metric : {"ip", "cosine"}
        What "nearest" means: the largest dot product, or the largest cosine.
    n_lists : int, optional
        k-means cells (default ``4 sqrt(n)``, at least 1).
    n_probes : int, default 16
        Cells read per query (``recommend_ann_probes``): more recall, more time.
    random_state : int, default 0
        Seeds the k-means sample and initialisation (the same matrix, the same index).

    Attributes
    ----------
    index_ : faiss.IndexIVFScalarQuantizer
        The index (8-bit codes); row ``i`` of the fitted matrix has id ``i``.
    n_rows_, dim_ : int
        Rows and width of the fitted matrix.
    """

    #: k-means trains on at most this many rows per cell (faiss's own advice is 39-256).
    TRAIN_ROWS_PER_LIST = 40

    def __init__(
        self,
        metric: Metric = "ip",
        *,
        n_lists: int | None = None,
        n_probes: int = 16,
        random_state: int = 0,
    ) -> None:
        if metric not in ("ip", "cosine"):
            raise ValueError(f"metric must be 'ip' or 'cosine', not {metric!r}")
        self.metric = metric
        self.n_lists = n_lists
        self.n_probes = n_probes
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> AnnIndex:
        """Cluster the rows of ``X`` (float32 ``(n, d)``) and file each under its cell."""
        faiss = _faiss()
        matrix = self._prepared(np.asarray(X, dtype=np.float32))
        n, width = matrix.shape
        lists = self.n_lists or max(1, int(4 * np.sqrt(n)))
        lists = min(lists, n)
        # 8-bit codes: a quarter of the bytes of float32 (a 1M-item index would otherwise
        # exceed what serving reads); candidates are re-scored from the float32 matrix.
        index = faiss.IndexIVFScalarQuantizer(
            faiss.IndexFlatL2(width), width, lists, faiss.ScalarQuantizer.QT_8bit
        )
        index.cp.seed = self.random_state
        index.cp.min_points_per_centroid = 1  # small catalogues: no "provide more points" noise
        rng = np.random.default_rng(self.random_state)
        sample = min(n, lists * self.TRAIN_ROWS_PER_LIST)
        rows = np.sort(rng.choice(n, size=sample, replace=False)) if sample < n else slice(None)
        index.train(matrix[rows])
        index.add(matrix)
        self._set_index(index, np.asarray(X).shape)
        return self

    def search(self, query: np.ndarray, k: int, *, n_probes: int | None = None) -> np.ndarray:
        """Row ids of (about) the ``k`` nearest rows to ``query``, nearest first.

        Scores are not returned: callers re-score the candidates exactly. ``n_probes``
        overrides the cells read for this query.
        """
        k = min(k, self.n_rows_)
        if k <= 0:
            return np.empty(0, dtype=np.int64)
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        if self.metric == "ip":
            vector = np.append(vector, np.float32(0.0))
        else:
            norm = float(np.linalg.norm(vector))
            vector = vector / norm if norm > 0 else vector
        probes = min(n_probes or self.n_probes, int(self.index_.nlist))
        params = _faiss().SearchParametersIVF(nprobe=probes)
        _, ids = self.index_.search(vector.reshape(1, -1), k, params=params)
        found: np.ndarray = ids[0]
        return found[found >= 0]

    def to_bytes(self) -> bytes:
        """The index as faiss serialises it (what the artifact stores)."""
        return bytes(_faiss().serialize_index(self.index_).tobytes())

    @classmethod
    def from_bytes(cls, data: bytes, metric: Metric, *, n_probes: int = 16) -> AnnIndex:
        """An index from :meth:`to_bytes` output.

        Raises
        ------
        ValueError
            When ``data`` is not a faiss inverted-file index.
        """
        faiss = _faiss()
        try:
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError as exc:  # faiss reports a bad file as a RuntimeError
            raise ValueError(f"not a faiss index: {exc}") from exc
        if not hasattr(index, "nprobe"):
            raise ValueError(f"not an inverted-file index: {type(index).__name__}")
        ann = cls(metric, n_lists=int(index.nlist), n_probes=n_probes)
        width = index.d - 1 if metric == "ip" else index.d
        ann._set_index(index, (int(index.ntotal), width))
        return ann

    # --- internals -------------------------------------------------------------------------

    def _prepared(self, matrix: np.ndarray) -> np.ndarray:
        if self.metric == "cosine":
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            return np.ascontiguousarray(matrix / np.where(norms > 0, norms, 1.0), np.float32)
        squared = np.einsum("ij,ij->i", matrix, matrix)
        extra = np.sqrt(np.maximum(squared.max(initial=0.0) - squared, 0.0))
        return np.ascontiguousarray(np.hstack([matrix, extra[:, None]]), np.float32)

    def _set_index(self, index: Any, shape: tuple[int, ...]) -> None:
        self.index_ = index
        self.n_rows_ = int(shape[0])
        self.dim_ = int(shape[1])


def build_ann_files(
    item_matrix: np.ndarray,
    user_matrix: np.ndarray,
    *,
    min_rows: int = DEFAULT_MIN_ROWS,
    random_state: int = 0,
) -> dict[str, bytes]:
    """The ANN files of a two-tower artifact: the item indexes when there are at least
    ``min_rows`` items, the user index when there are at least ``min_rows`` users.

    Row ``i`` of each index is row ``i`` of the matrix as the artifact stores it. The training
    job adds the result to the artifact's files; an empty dict means exact search serves.

    Examples
    --------
    >>> import numpy as np
    >>> items, users = np.eye(4, dtype=np.float32), np.ones((2, 4), np.float32)
    >>> sorted(build_ann_files(items, users, min_rows=3))
    ['ann_items.faiss', 'ann_items_cosine.faiss']
    >>> build_ann_files(items, users)
    {}
    """
    files: dict[str, bytes] = {}
    options = {"random_state": random_state}
    if len(item_matrix) >= min_rows:
        files[ANN_ITEMS_FILE] = AnnIndex("ip", **options).fit(item_matrix).to_bytes()
        files[ANN_ITEMS_COSINE_FILE] = AnnIndex("cosine", **options).fit(item_matrix).to_bytes()
    if len(user_matrix) >= min_rows:
        files[ANN_USERS_COSINE_FILE] = AnnIndex("cosine", **options).fit(user_matrix).to_bytes()
    return files


def load_ann_files(
    files: Mapping[str, bytes], *, n_items: int, n_users: int, dim: int, n_probes: int = 16
) -> dict[str, AnnIndex]:
    """The indexes among ``files`` that match the matrices (rows and width), by file name.

    An index that does not load or does not match is left out: that search stays exact.
    """
    expected = {
        ANN_ITEMS_FILE: ("ip", n_items),
        ANN_ITEMS_COSINE_FILE: ("cosine", n_items),
        ANN_USERS_COSINE_FILE: ("cosine", n_users),
    }
    loaded: dict[str, AnnIndex] = {}
    for name, (metric, rows) in expected.items():
        if name not in files:
            continue
        try:
            ann = AnnIndex.from_bytes(files[name], metric, n_probes=n_probes)  # type: ignore[arg-type]
        except ValueError:
            continue
        if ann.n_rows_ == rows and ann.dim_ == dim:
            loaded[name] = ann
    return loaded
