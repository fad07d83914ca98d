"""``TwoTowerRecommender``: an estimator-like two-tower model (fit, recommend, similar_items).

Training data are positives ``(user, item_key)``; the user tower sees a user's history (the
mean of their items' embeddings), the item tower embeds the whole catalog, and the score is the
dot product. Three softmax losses (``loss``):

* ``"in_batch"`` (default): a step takes a batch of positives; the target is left out of the
  user's history (and a share of the rest dropped); the batch's distinct items are the
  classes, their logits corrected by the log of each item's sampling probability (the logQ
  popularity correction, Yi et al. 2019): it scales to catalogs too large for a softmax;
* ``"multinomial"``: a step takes a batch of users, hides a random share
  (``history_dropout``) of each one's items and scores the hidden items, over the catalog,
  from the rest (the multinomial likelihood of Mult-DAE, Liang et al. 2018, with the held-out
  items as targets: evaluation asks for items *not* in the history);
* ``"full"``: like ``"in_batch"`` but scored against the whole catalog.

On MovieLens 100K ``in_batch`` scored best on validation, ``multinomial`` ~5 % lower at a
fifth of the time per epoch (see bench/movielens.py).

Early stopping keeps the epoch with the best validation NDCG@k.

Examples
--------
>>> pairs = [(f"u{u}", f"meme#{(u + j) % 6}") for u in range(12) for j in range(3)]
>>> model = TwoTowerRecommender(embedding_dim=8, epochs=3, random_state=0).fit(pairs)
>>> model.item_embeddings_.shape, len(model.user_ids_)
((6, 8), 12)
>>> [key for key, _ in model.recommend("u0", n=2)][0] in {"meme#3", "meme#4", "meme#5"}
True
"""

from __future__ import annotations

import copy
import inspect
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from learnloop.exceptions import NotFittedError, ValidationError
from training_jobs.exceptions import NotEnoughInteractionsError
from training_jobs.metrics import ndcg_at_k, ndcg_per_user, ranking_metrics, top_k_excluding

if TYPE_CHECKING:
    from training_jobs.two_tower.model import TwoTowerNet

#: ``in_batch``: sampled softmax over the batch's items with logQ correction; ``full``: softmax
#: over the catalog; ``multinomial``: per-user softmax over the catalog, all the user's positives
#: as targets (the multinomial likelihood of Mult-DAE, Liang et al. 2018).
LOSSES = ("in_batch", "multinomial", "full")
#: Called after every epoch with ``(epoch, mean training loss, validation NDCG@k or None)``.
EpochCallback = Callable[[int, float, float | None], None]


@dataclass(frozen=True)
class ItemCatalog:
    """Every item the model should embed, with its content type and (optional) text embedding.

    ``text_embeddings`` is row-aligned with ``item_keys`` (zeros for items without text).
    """

    item_keys: Sequence[str]
    content_types: Sequence[str]
    text_embeddings: np.ndarray | None = None


class EmbeddingRecommender:
    """What every candidate of the job shares: the catalog, the id maps, the training history,
    and ranking by dot product of ``user_embeddings_`` and ``item_embeddings_`` (so the two-tower
    model and matrix factorisation are scored, compared and published the same way).

    Subclasses set ``user_embeddings_`` and ``item_embeddings_`` in ``fit`` after calling
    :meth:`_index_pairs`.
    """

    item_ids_: list[str]
    user_ids_: list[str]
    user_embeddings_: np.ndarray
    item_embeddings_: np.ndarray
    popularity_: np.ndarray
    history_: list[set[int]]
    content_type_vocabulary_: list[str]
    item_content_types_: np.ndarray
    text_embeddings_: np.ndarray | None

    #: The job's name of this candidate (``extra.model`` in the manifest).
    candidate: str = ""

    def fit(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        catalog: ItemCatalog | None = None,
        validation: Iterable[tuple[str, str]] | None = None,
        callback: EpochCallback | None = None,
    ) -> EmbeddingRecommender:
        """Train on positive ``(user, item_key)`` pairs (each candidate implements it)."""
        raise NotImplementedError

    def history_matrix(self) -> np.ndarray:
        """The rows whose mean over a user's items profiles a user the model has not seen
        (serving's ``history_vector``): the item embeddings, unless a model has its own."""
        self._check_fitted()
        return self.item_embeddings_

    def similarity_queries(self) -> np.ndarray | None:
        """The rows similar items are found with by dot product (a model's own history rows),
        or None when they are cosine neighbours of the item embeddings."""
        history = self.history_matrix()
        return None if history is self.item_embeddings_ else history

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, as ``__init__`` takes them: scikit-learn's convention, every
        keyword of ``__init__`` is stored unchanged under its own name."""
        signature = inspect.signature(type(self).__init__)
        names = [p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]
        return {name: getattr(self, name) for name in names}

    def _index_pairs(
        self, pairs: Iterable[tuple[str, str]], catalog: ItemCatalog | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Set the catalog, users, history and popularity from positives; returns the pairs'
        ``(user rows, item rows)``.

        Raises
        ------
        NotEnoughInteractionsError
            Without at least two users, two items and two positives.
        """
        unique = sorted(set((str(u), str(i)) for u, i in pairs))
        users = sorted({u for u, _ in unique})
        if len(unique) < 2 or len(users) < 2 or len({i for _, i in unique}) < 2:
            raise NotEnoughInteractionsError(
                f"{len(unique)} positives of {len(users)} users: too few to train",
                n_rows=len(unique),
                min_rows=2,
            )
        self._set_catalog(unique, catalog)
        self.user_ids_ = users
        self._user_row = {u: r for r, u in enumerate(users)}
        rows_u = np.array([self._user_row[u] for u, _ in unique], dtype=np.int64)
        rows_i = np.array([self._item_row[i] for _, i in unique], dtype=np.int64)
        self.history_ = [set() for _ in range(len(users))]
        for u, i in zip(rows_u, rows_i, strict=True):
            self.history_[u].add(int(i))
        self.popularity_ = np.bincount(rows_i, minlength=len(self.item_ids_)).astype(np.int64)
        return rows_u, rows_i

    def _set_catalog(self, unique: list[tuple[str, str]], catalog: ItemCatalog | None) -> None:
        keys = list(catalog.item_keys) if catalog is not None else []
        types = list(catalog.content_types) if catalog is not None else []
        if len(keys) != len(types) or len(set(keys)) != len(keys):
            raise ValidationError(
                "catalog item_keys must be unique and aligned with content_types",
                details=[{"field": "catalog", "message": "misaligned or duplicate keys"}],
            )
        text = None if catalog is None else catalog.text_embeddings
        known = set(keys)
        extra = sorted({i for _, i in unique} - known)
        keys += extra
        types += [key.partition("#")[0] for key in extra]
        if text is not None:
            text = np.asarray(text, dtype=np.float32)
            if text.ndim != 2 or text.shape[0] != len(keys) - len(extra):
                raise ValidationError(
                    "text_embeddings must have one row per catalog item",
                    details=[{"field": "catalog.text_embeddings", "message": "wrong shape"}],
                )
            text = np.vstack([text, np.zeros((len(extra), text.shape[1]), np.float32)])
        self.item_ids_ = keys
        self._item_row = {key: r for r, key in enumerate(keys)}
        self.content_type_vocabulary_ = sorted(set(types))
        type_index = {t: n for n, t in enumerate(self.content_type_vocabulary_)}
        self.item_content_types_ = np.array([type_index[t] for t in types], dtype=np.int64)
        self.text_embeddings_ = text

    def _validation_rows(
        self, validation: Iterable[tuple[str, str]] | None
    ) -> tuple[np.ndarray, list[set[int]]]:
        relevant: dict[int, set[int]] = {}
        for user, item in validation or ():
            u, i = self._user_row.get(str(user)), self._item_row.get(str(item))
            if u is None or i is None or i in self.history_[u]:
                continue
            relevant.setdefault(u, set()).add(i)
        users = np.array(sorted(relevant), dtype=np.int64)
        return users, [relevant[int(u)] for u in users]

    def _check_fitted(self) -> None:
        if not hasattr(self, "item_embeddings_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit first")

    def score_users(self, users: Sequence[str]) -> np.ndarray:
        """``(len(users), n_items)`` scores of known users (unknown ones raise ``KeyError``)."""
        self._check_fitted()
        rows = [self._user_row[u] for u in users]
        return self.user_embeddings_[rows] @ self.item_embeddings_.T

    def recommend(
        self,
        user: str,
        *,
        n: int = 10,
        seen: Iterable[str] | None = None,
        exclude_seen: bool = True,
    ) -> list[tuple[str, float]]:
        """The ``n`` best items for a known user, best first.

        Parameters
        ----------
        user : str
            A user of the training data.
        n : int
            How many items.
        seen : iterable of str, optional
            Items never to return (default: the user's training positives).
        exclude_seen : bool
            Leave out ``seen`` (or the training positives); ``False`` ranks every item.

        Returns
        -------
        list of (str, float)
            ``(item_key, score)``.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        KeyError
            For a user the model has not seen.
        """
        scores = self.score_users([user])
        if not exclude_seen:
            excluded: set[int] = set()
        elif seen is None:
            excluded = self.history_[self._user_row[user]]
        else:
            excluded = {self._item_row[i] for i in seen if i in self._item_row}
        top = top_k_excluding(scores, [excluded], min(n, len(self.item_ids_) - len(excluded)))
        return [(self.item_ids_[i], float(scores[0, i])) for i in top[0]]

    def similar_items(self, item_key: str, *, n: int = 10) -> list[tuple[str, float]]:
        """The ``n`` items whose embeddings are closest (cosine) to ``item_key``'s, itself left
        out; for a model with its own history rows (EASE) the items it would recommend to a
        user whose only item is this one, as serving answers (dot products).

        Raises
        ------
        NotFittedError
            Before ``fit``.
        KeyError
            For an item outside the catalog.
        """
        self._check_fitted()
        row = self._item_row[item_key]
        queries = self.similarity_queries()
        if queries is None:
            vectors = self.item_embeddings_ / np.maximum(
                np.linalg.norm(self.item_embeddings_, axis=1, keepdims=True), 1e-12
            )
            scores = vectors @ vectors[row]
        else:
            scores = self.item_embeddings_ @ queries[row]
        top = top_k_excluding(scores[None, :], [{row}], min(n, len(self.item_ids_) - 1))
        return [(self.item_ids_[i], float(scores[i])) for i in top[0]]

    def evaluate(
        self, pairs: Iterable[tuple[str, str]], *, ks: Sequence[int] = (5, 10, 20)
    ) -> dict[str, float]:
        """Ranking metrics on held-out positives, with the popularity baseline beside them.

        Users without training positives and items seen in training are left out, as in
        validation; seen items are removed from both rankings.

        Returns
        -------
        dict of str to float
            ``precision@k``, ``recall@k``, ``ndcg@k``, ``map@k`` and the same prefixed with
            ``popularity_``, plus ``users`` (how many users were scored).
        """
        self._check_fitted()
        users, relevant = self._validation_rows(pairs)
        if not len(users):
            return {"users": 0.0}
        seen = [self.history_[u] for u in users]
        k = max(ks)
        top = top_k_excluding(self.user_embeddings_[users] @ self.item_embeddings_.T, seen, k)
        popular = np.broadcast_to(
            self.popularity_.astype(np.float64), (len(users), len(self.item_ids_))
        )
        top_pop = top_k_excluding(popular, seen, k)
        result = ranking_metrics(top, relevant, ks)
        result.update(ranking_metrics(top_pop, relevant, ks, prefix="popularity_"))
        result["users"] = float(len(users))
        return result

    def user_ndcg(self, pairs: Iterable[tuple[str, str]], *, k: int = 10) -> dict[str, float]:
        """Each scored user's NDCG@k on held-out positives (the users :meth:`evaluate`
        averages over): paired per-user comparisons of settings need the figures apart.

        Examples
        --------
        >>> pairs = [(f"u{u}", f"meme#{(u + j) % 6}") for u in range(12) for j in range(3)]
        >>> model = TwoTowerRecommender(embedding_dim=8, epochs=2, random_state=0).fit(pairs)
        >>> scores = model.user_ndcg([("u0", "meme#4"), ("u1", "meme#0"), ("nobody", "meme#1")])
        >>> sorted(scores), all(0.0 <= v <= 1.0 for v in scores.values())
        (['u0', 'u1'], True)
        """
        self._check_fitted()
        users, relevant = self._validation_rows(pairs)
        if not len(users):
            return {}
        seen = [self.history_[u] for u in users]
        top = top_k_excluding(self.user_embeddings_[users] @ self.item_embeddings_.T, seen, k)
        values = ndcg_per_user(top, relevant, k)
        return {self.user_ids_[int(u)]: float(v) for u, v in zip(users, values, strict=True)}


class TwoTowerRecommender(EmbeddingRecommender):
    """A two-tower recommender trained with a sampled softmax (PyTorch).

    Parameters
    ----------
    embedding_dim : int
        Size of both towers' output (64, 128 or 256 in production).
    loss : {"in_batch", "multinomial", "full"}
        See ``LOSSES``: per positive over the batch's items with the logQ popularity
        correction (the default: best on MovieLens 100K, and it scales past a catalog-wide
        softmax); per user over the catalog with hidden items as targets (~5x cheaper per
        epoch); per positive over the catalog.
    temperature : float
        Logits are ``dot / temperature``.
    normalize : bool
        L2-normalise both towers' outputs (cosine scores).
    epochs : int
        Most epochs to train (fewer when early stopping triggers).
    patience : int
        Epochs without a better validation NDCG@k before stopping.
    batch_size : int
        Users per step with ``loss="multinomial"``, positives per step otherwise.
    learning_rate, weight_decay : float
        AdamW's.
    history_dropout : float
        Share of the user's history hidden from the user tower at each step (with
        ``loss="multinomial"``: the hidden items are the targets).
    id_dropout : float
        Share of user and item ids replaced by the unknown slot at each step, so cold users
        and items (history, content type and text only) are embedded sensibly.
    use_user_id : bool
        Give the user tower the user's id embedding besides their history.
    hidden : int
        Width of a tanh layer in the user tower (0: the history mean is mapped linearly).
    eval_k : int
        The k of the validation NDCG that early stopping watches.
    n_threads : int
        torch CPU threads.
    random_state : int or None
        Seed of the initialisation, the batches and the dropout.
    max_seconds : float or None
        Stop after the epoch that ends past this many seconds of training (the job's search
        gives each trial what is left of its budget); the best epoch so far is kept.

    Attributes
    ----------
    user_ids_ : list of str
        Known users, row-aligned with ``user_embeddings_``.
    item_ids_ : list of str
        Catalog items, row-aligned with ``item_embeddings_``.
    content_type_vocabulary_ : list of str
        Content types; an item's ``content_type`` tower input is its index here.
    user_embeddings_, item_embeddings_ : numpy.ndarray
        float32 ``(n_users, d)`` and ``(n_items, d)``; score = dot product.
    popularity_ : numpy.ndarray
        Training positives per item.
    history_ : list of set of int
        Each user's training items (catalog rows).
    best_epoch_ : int
        Epochs trained for the kept weights.
    validation_curve_ : list of float
        Validation NDCG@k per epoch (empty without validation data).
    loss_curve_ : list of float
        Mean training loss per epoch.
    fit_seconds_ : float
        Wall time of ``fit``.
    net_ : TwoTowerNet
        The trained torch module.
    """

    candidate = "two_tower"

    def __init__(
        self,
        *,
        embedding_dim: int = 64,
        loss: str = "in_batch",
        temperature: float = 1.0,
        normalize: bool = False,
        epochs: int = 100,
        patience: int = 10,
        batch_size: int = 2048,
        learning_rate: float = 6e-3,
        weight_decay: float = 0.1,
        history_dropout: float = 0.5,
        id_dropout: float = 0.1,
        use_user_id: bool = False,
        hidden: int = 0,
        eval_k: int = 10,
        n_threads: int = 2,
        random_state: int | None = None,
        max_seconds: float | None = None,
    ) -> None:
        self.embedding_dim = embedding_dim
        self.loss = loss
        self.temperature = temperature
        self.normalize = normalize
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.history_dropout = history_dropout
        self.id_dropout = id_dropout
        self.use_user_id = use_user_id
        self.hidden = hidden
        self.eval_k = eval_k
        self.n_threads = n_threads
        self.random_state = random_state
        self.max_seconds = max_seconds

    def _check_params(self) -> None:
        details = []
        if self.loss not in LOSSES:
            details.append({"field": "loss", "message": f"expected one of {', '.join(LOSSES)}"})
        for name in ("embedding_dim", "epochs", "batch_size", "eval_k", "n_threads"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                details.append({"field": name, "message": "must be a positive integer"})
        for name in ("history_dropout", "id_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                details.append({"field": name, "message": "must be in [0, 1)"})
        if self.temperature <= 0 or self.learning_rate <= 0 or self.weight_decay < 0:
            details.append({"field": "temperature", "message": "temperature and lr must be > 0"})
        if details:
            raise ValidationError("invalid two-tower hyperparameters", details=details)

    def fit(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        catalog: ItemCatalog | None = None,
        validation: Iterable[tuple[str, str]] | None = None,
        callback: EpochCallback | None = None,
    ) -> TwoTowerRecommender:
        """Train on positive ``(user, item_key)`` pairs.

        Parameters
        ----------
        pairs : iterable of (str, str)
            Positives; duplicates count once.
        catalog : ItemCatalog, optional
            Items to embed (content type, text); items only in ``pairs`` are added with the
            content type before ``#`` in their key and no text.
        validation : iterable of (str, str), optional
            Held-out positives; when given, training stops early on their NDCG@``eval_k``
            (users without training positives and items seen in training are left out).
        callback : callable, optional
            Called after each epoch with ``(epoch, loss, validation NDCG or None)``.

        Returns
        -------
        TwoTowerRecommender
            ``self``, fitted.

        Raises
        ------
        ValidationError
            On bad hyperparameters.
        NotEnoughInteractionsError
            Without at least two users, two items and two positives.
        """
        import torch

        self._check_params()
        started = time.perf_counter()
        rows_u, rows_i = self._index_pairs(pairs, catalog)
        n_items = len(self.item_ids_)
        trained = self.popularity_ > 0
        slots = np.zeros(n_items, dtype=np.int64)
        slots[trained] = np.arange(1, int(trained.sum()) + 1)

        eval_users, eval_relevant = self._validation_rows(validation)
        previous_threads = torch.get_num_threads()
        torch.set_num_threads(self.n_threads)
        try:
            with torch.random.fork_rng(devices=[]):
                if self.random_state is not None:
                    torch.manual_seed(self.random_state)
                self._train(rows_u, rows_i, slots, eval_users, eval_relevant, callback)
        finally:
            torch.set_num_threads(previous_threads)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _train(
        self,
        rows_u: np.ndarray,
        rows_i: np.ndarray,
        slots: np.ndarray,
        eval_users: np.ndarray,
        eval_relevant: list[set[int]],
        callback: EpochCallback | None,
    ) -> None:
        import torch
        from torch.nn import functional as F

        from training_jobs.two_tower.model import TwoTowerNet  # torch loads when a fit starts

        n_users, n_items = len(self.user_ids_), len(self.item_ids_)
        text = None if self.text_embeddings_ is None else torch.from_numpy(self.text_embeddings_)
        net = TwoTowerNet(
            n_users=n_users,
            n_items=n_items,
            item_slots=torch.from_numpy(slots),
            content_types=torch.from_numpy(self.item_content_types_ + 1),
            n_content_types=len(self.content_type_vocabulary_),
            text=text,
            dim=self.embedding_dim,
            normalize=self.normalize,
            use_user_id=self.use_user_id,
            hidden=self.hidden,
        )
        optimizer = torch.optim.AdamW(
            [p for p in net.parameters() if p.requires_grad],
            lr=self.learning_rate,
            weight_decay=self.weight_decay,
        )
        matrix = torch.zeros(n_users, n_items)
        matrix[torch.from_numpy(rows_u), torch.from_numpy(rows_i)] = 1.0
        t_users, t_items = torch.from_numpy(rows_u), torch.from_numpy(rows_i)
        log_q = torch.log(torch.from_numpy(self.popularity_ / self.popularity_.sum()).float())
        t_slots = torch.from_numpy(slots)
        n_pairs = len(rows_u)
        self.validation_curve_: list[float] = []
        self.loss_curve_: list[float] = []
        best_state, best_score, best_epoch, waited = None, -math.inf, 0, 0
        started = time.perf_counter()
        for epoch in range(1, self.epochs + 1):
            net.train()
            total = 0.0
            for step in self._batches(n_pairs, n_users):
                if self.id_dropout > 0:
                    item_slots = torch.where(torch.rand(n_items) < self.id_dropout, 0, t_slots)
                else:
                    item_slots = t_slots
                if self.loss == "multinomial":
                    # Hide a random share of each user's items and predict the hidden ones
                    # from the rest (as evaluation asks for items not in the history).
                    users = step
                    full = matrix[users]
                    shown = torch.rand_like(full) >= max(self.history_dropout, 0.05)
                    target = full * ~shown
                    mean = net.history_vectors(full * shown)
                else:
                    users, items = t_users[step], t_items[step]
                    mean = self._history_mean(net, matrix, users, items)
                user_index = users + 1
                if self.id_dropout > 0:
                    user_index = torch.where(torch.rand(len(step)) < self.id_dropout, 0, user_index)
                u_vec = net.user_vectors(user_index, mean=mean)
                if self.loss == "multinomial":
                    logits = u_vec @ net.item_vectors(item_slots).T / self.temperature
                    log_p = F.log_softmax(logits, dim=1)
                    loss = -((log_p * target).sum(1) / target.sum(1).clamp(min=1.0)).mean()
                elif self.loss == "full":
                    logits = u_vec @ net.item_vectors(item_slots).T / self.temperature
                    loss = F.cross_entropy(logits, items)
                else:
                    # The batch's distinct items are the classes (a repeat of the target is not
                    # its negative). They were drawn by popularity: subtracting log q removes
                    # that bias (the logQ correction). Only these items are embedded.
                    distinct, target_column = torch.unique(items, return_inverse=True)
                    text = net.item_text[distinct] if net.text_proj is not None else None
                    v_batch = net.item_vectors_from(
                        item_slots[distinct], net.item_content_types[distinct], text
                    )
                    logits = u_vec @ v_batch.T / self.temperature - log_q[distinct][None, :]
                    loss = F.cross_entropy(logits, target_column)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.item()) * len(step)
            self.loss_curve_.append(total / (n_users if self.loss == "multinomial" else n_pairs))
            self.net_: TwoTowerNet = net
            score = None
            if len(eval_users):
                self._embed()
                top = top_k_excluding(
                    self.user_embeddings_[eval_users] @ self.item_embeddings_.T,
                    [self.history_[u] for u in eval_users],
                    self.eval_k,
                )
                score = ndcg_at_k(top, eval_relevant, self.eval_k)
                self.validation_curve_.append(score)
                if score > best_score:
                    best_state, best_score, best_epoch, waited = (
                        copy.deepcopy(net.state_dict()),
                        score,
                        epoch,
                        0,
                    )
                else:
                    waited += 1
            else:
                best_epoch = epoch
            if callback is not None:
                callback(epoch, self.loss_curve_[-1], score)
            if len(eval_users) and waited >= self.patience:
                break
            if self.max_seconds is not None and time.perf_counter() - started > self.max_seconds:
                break  # out of time: keep the best epoch so far
        if best_state is not None:
            net.load_state_dict(best_state)
        self.best_epoch_ = best_epoch
        self._embed()

    def _history_mean(self, net: Any, matrix: Any, users: Any, items: Any) -> Any:
        """Each batch pair's mean history embedding: the user's items with a random
        ``history_dropout`` share hidden (one draw per user and step) and the target left out.

        The sums are one dense product over the batch's distinct users, from which each pair's
        target is subtracted: far cheaper than gathering a history per pair."""
        import torch

        distinct, row = torch.unique(users, return_inverse=True)
        shown = matrix[distinct]
        if self.history_dropout > 0:
            shown = shown * (torch.rand_like(shown) >= self.history_dropout)
        table = net.history_item(net.item_slots)
        sums = shown @ table
        counts = shown.sum(dim=1)
        own = shown[row, items]  # 1 where the target is among the shown items
        total = sums[row] - own[:, None] * table[items]
        return total / (counts[row] - own).clamp(min=1.0)[:, None]

    def _batches(self, n_pairs: int, n_users: int) -> Iterable[Any]:
        import torch

        n = n_users if self.loss == "multinomial" else n_pairs
        order = torch.randperm(n)
        for start in range(0, n, self.batch_size):
            yield order[start : start + self.batch_size]

    def _embed(self) -> None:
        import torch

        net = self.net_
        net.eval()
        n_users, n_items = len(self.user_ids_), len(self.item_ids_)
        matrix = np.zeros((n_users, n_items), dtype=np.float32)
        for u, items in enumerate(self.history_):
            matrix[u, list(items)] = 1.0
        with torch.no_grad():
            users = net.user_vectors(torch.arange(1, n_users + 1), torch.from_numpy(matrix))
            self.user_embeddings_ = users.numpy().astype(np.float32)
            self.item_embeddings_ = net.item_vectors().numpy().astype(np.float32)


def pairs_of(interactions: Iterable[Any]) -> list[tuple[str, str]]:
    """``(user, item_key)`` pairs of :class:`~training_jobs.two_tower.data.Interaction` rows.

    Examples
    --------
    >>> from training_jobs.two_tower.data import Interaction
    >>> pairs_of([Interaction("u", "meme#1", "2026-11-01")])
    [('u', 'meme#1')]
    """
    return [(row.user, row.item_key) for row in interactions]


def catalog_from(
    items: Mapping[str, Any], embed: Callable[[list[str]], np.ndarray] | None
) -> ItemCatalog:
    """An :class:`ItemCatalog` from the exports' items, texts embedded by ``embed``.

    Items without text get a zero text embedding (content type and id only).

    Examples
    --------
    >>> import numpy as np
    >>> from training_jobs.two_tower.data import Item
    >>> items = {"news#1": Item("news#1", "news", "rates rise"), "meme#2": Item("meme#2", "meme")}
    >>> c = catalog_from(items, lambda texts: np.ones((len(texts), 3), np.float32))
    >>> list(c.item_keys), c.text_embeddings.tolist()
    (['news#1', 'meme#2'], [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    """
    keys = list(items)
    types = [items[k].content_type for k in keys]
    if embed is None:
        return ItemCatalog(keys, types, None)
    with_text = [n for n, k in enumerate(keys) if items[k].text]
    vectors = embed([items[keys[n]].text for n in with_text]) if with_text else None
    dim = vectors.shape[1] if vectors is not None else _probe_dim(embed)
    text = np.zeros((len(keys), dim), dtype=np.float32)
    if vectors is not None:
        text[with_text] = vectors
    return ItemCatalog(keys, types, text)


def _probe_dim(embed: Callable[[list[str]], np.ndarray]) -> int:
    return int(np.asarray(embed([""])).shape[1])


__all__ = [
    "LOSSES",
    "EmbeddingRecommender",
    "EpochCallback",
    "ItemCatalog",
    "TwoTowerRecommender",
    "catalog_from",
    "pairs_of",
]
