"""The two towers in torch (training only; serving runs their ONNX export).

* User tower: an id embedding (row 0: an unknown user) plus a linear map of the mean of the
  user's history item embeddings (the user's features: what they liked before).
* Item tower: an id embedding (slot 0: an item with no training positive), a content-type
  embedding (slot 0: an unknown type) and a linear projection of the item's text embedding.

Both towers may L2-normalise their output; the score is always the dot product.

Examples
--------
>>> import torch
>>> net = TwoTowerNet(n_users=2, n_items=3, item_slots=torch.tensor([1, 2, 0]),
...                   content_types=torch.tensor([1, 1, 1]), n_content_types=1,
...                   text=torch.zeros(3, 4), dim=8)
>>> history = torch.tensor([[1.0, 0.0, 0.0]])
>>> net.user_vectors(torch.tensor([1]), history).shape, net.item_vectors().shape
(torch.Size([1, 8]), torch.Size([3, 8]))
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class TwoTowerNet(nn.Module):
    """User and item towers over a fixed item catalog.

    Parameters
    ----------
    n_users : int
        Known users; user index 0 is the unknown user, known users are ``1..n_users``.
    n_items : int
        Catalog rows (items with and without training positives).
    item_slots : torch.Tensor
        ``(n_items,)`` int64: each row's id-embedding slot, 0 for items without positives.
    content_types : torch.Tensor
        ``(n_items,)`` int64: each row's content-type slot (``1..n_content_types``).
    n_content_types : int
        Known content types.
    text : torch.Tensor or None
        ``(n_items, text_dim)`` text embeddings (zeros for items without text), or ``None``.
    dim : int
        Embedding size.
    normalize : bool
        L2-normalise both towers' outputs.
    use_user_id : bool
        Add the user's id embedding (else the user is their history only).
    hidden : int
        Width of a tanh layer between the history mean and the user embedding (0: linear).
    """

    item_slots: torch.Tensor
    item_content_types: torch.Tensor
    item_text: torch.Tensor

    def __init__(
        self,
        *,
        n_users: int,
        n_items: int,
        item_slots: torch.Tensor,
        content_types: torch.Tensor,
        n_content_types: int,
        text: torch.Tensor | None,
        dim: int,
        normalize: bool = False,
        use_user_id: bool = True,
        hidden: int = 0,
    ) -> None:
        super().__init__()
        n_slots = int(item_slots.max().item()) + 1 if len(item_slots) else 1
        self.n_items = n_items
        self.normalize = normalize
        self.user_id = nn.Embedding(n_users + 1, dim)
        self.history_item = nn.Embedding(n_slots, dim)
        self.use_user_id = use_user_id
        self.history_proj: nn.Module = (
            nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, dim))
            if hidden
            else nn.Linear(dim, dim)
        )
        self.item_id = nn.Embedding(n_slots, dim)
        self.content_type = nn.Embedding(n_content_types + 1, dim)
        self.text_proj = nn.Linear(text.shape[1], dim, bias=False) if text is not None else None
        for table in (self.user_id, self.history_item, self.item_id, self.content_type):
            nn.init.normal_(table.weight, std=0.1)
        if not use_user_id:
            # Kept (zero, frozen) so the exported user tower has the same inputs either way.
            nn.init.zeros_(self.user_id.weight)
            self.user_id.weight.requires_grad_(False)
        self.register_buffer("item_slots", item_slots.long())
        self.register_buffer("item_content_types", content_types.long())
        self.register_buffer("item_text", text if text is not None else torch.zeros(n_items, 0))

    def history_vectors(self, history: torch.Tensor) -> torch.Tensor:
        """The mean history embedding of each row of ``history`` (``(batch, n_items)`` weights)."""
        table = self.history_item(self.item_slots)
        counts = history.sum(dim=1, keepdim=True).clamp(min=1.0)
        return (history @ table) / counts

    def user_vectors(
        self,
        users: torch.Tensor,
        history: torch.Tensor | None = None,
        *,
        mean: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """User embeddings from user indices (0: unknown) and history weights over the catalog
        (or the already computed history ``mean``)."""
        if mean is None:
            if history is None:
                raise ValueError("user_vectors needs a history or its mean")
            mean = self.history_vectors(history)
        out = self.history_proj(mean) + self.user_id(users)
        return F.normalize(out, dim=-1) if self.normalize else out

    def item_vectors_from(
        self, slots: torch.Tensor, content_types: torch.Tensor, text: torch.Tensor | None
    ) -> torch.Tensor:
        """Item embeddings from id slots (0: no id), content-type slots (0: unknown) and text."""
        out = self.item_id(slots) + self.content_type(content_types)
        if self.text_proj is not None and text is not None:
            out = out + self.text_proj(text)
        return F.normalize(out, dim=-1) if self.normalize else out

    def item_vectors(self, slots: torch.Tensor | None = None) -> torch.Tensor:
        """Every catalog item's embedding (``slots`` overrides the id slots, e.g. dropped)."""
        text: torch.Tensor | None = self.item_text if self.text_proj is not None else None
        return self.item_vectors_from(
            self.item_slots if slots is None else slots, self.item_content_types, text
        )


class UserTower(nn.Module):
    """The exported user tower: ``user_index`` (row in users.json, -1 unknown) and ``history``
    (``(batch, n_items)`` 0/1 over items.json rows) → ``user_embedding``."""

    def __init__(self, net: TwoTowerNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, user_index: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        return self.net.user_vectors(user_index + 1, history)


class ItemTower(nn.Module):
    """The exported item tower: ``item_index`` (row in items.json, -1 for a new item),
    ``content_type`` (index in the manifest's vocabulary, -1 unknown) and, when the model uses
    text, ``text_embedding`` → ``item_embedding``."""

    row_slots: torch.Tensor

    def __init__(self, net: TwoTowerNet) -> None:
        super().__init__()
        self.net = net
        self.register_buffer(
            "row_slots", torch.cat([torch.zeros(1, dtype=torch.long), net.item_slots])
        )

    def forward(
        self,
        item_index: torch.Tensor,
        content_type: torch.Tensor,
        text_embedding: torch.Tensor | None = None,
    ) -> torch.Tensor:
        slots = self.row_slots[item_index + 1]
        return self.net.item_vectors_from(slots, content_type + 1, text_embedding)


__all__ = ["ItemTower", "TwoTowerNet", "UserTower"]
