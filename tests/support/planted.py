"""A planted-preference world for the recommender tests, and contract-B exports of it.

Users fall into groups; each group likes the items of its own cluster (and, less often, the
few globally popular items), so a model that learns who likes what beats popularity, and
popularity alone is a fair but beatable baseline. Item text names the cluster, so an item
without positives is still placed by its text.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

T0 = datetime(2026, 11, 1, tzinfo=UTC)
WORDS = ["bitcoin halving", "cat memes", "rate decision", "ai agents"]


def planted(
    *,
    n_users: int = 60,
    n_clusters: int = 4,
    items_per_cluster: int = 12,
    likes_per_user: int = 10,
    n_popular: int = 3,
    seed: int = 0,
) -> tuple[list[tuple[str, str, str]], dict[str, dict[str, Any]]]:
    """``(user, item_key, iso time)`` positives in random time order, and items by key."""
    rng = np.random.default_rng(seed)
    types = ["coin", "meme", "news", "ai_insight"]
    items: dict[str, dict[str, Any]] = {}
    clusters: list[list[str]] = []
    for c in range(n_clusters):
        keys = []
        for j in range(items_per_cluster):
            content_type = types[c % len(types)]
            key = f"{content_type}#c{c}-{j}"
            items[key] = {"content_type": content_type, "text": f"{WORDS[c % len(WORDS)]} {j}"}
            keys.append(key)
        clusters.append(keys)
    popular = [f"news#popular-{j}" for j in range(n_popular)]
    for key in popular:
        items[key] = {"content_type": "news", "text": "breaking headline"}
    rows = []
    for u in range(n_users):
        user = hashlib.sha256(f"user-{u}".encode()).hexdigest()
        own = clusters[u % n_clusters]
        liked = set(rng.choice(own, size=min(likes_per_user, len(own)), replace=False))
        liked |= {key for key in popular if rng.random() < 0.5}
        for key in sorted(liked):
            at = T0 + timedelta(minutes=int(rng.integers(0, 3 * 24 * 60)))
            rows.append((user, key, at.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return rows, items


def export_days(
    rows: list[tuple[str, str, str]], items: dict[str, dict[str, Any]]
) -> dict[str, dict[str, bytes]]:
    """Contract-B files per date: reactions, events (empty), items and the manifest."""
    days: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for user, key, at in rows:
        day = days.setdefault(at[:10], {"reactions": [], "events": [], "items": []})
        content_type, _, external_id = key.partition("#")
        day["reactions"].append(
            {
                "user": user,
                "item_key": key,
                "content_type": content_type,
                "external_id": external_id,
                "reaction": "like",
                "created_at": at,
                "updated_at": at,
            }
        )
        if all(i["item_key"] != key for i in day["items"]):
            day["items"].append(
                {
                    "item_key": key,
                    "content_type": content_type,
                    "external_id": external_id,
                    "text": items[key]["text"],
                    "metadata": {},
                    "updated_at": at,
                }
            )
    out: dict[str, dict[str, bytes]] = {}
    for date, parts in sorted(days.items()):
        files = {
            f"{name}.jsonl": "".join(
                json.dumps(row, sort_keys=True) + "\n" for row in rows_
            ).encode()
            for name, rows_ in parts.items()
        }
        manifest = {
            "date": date,
            "created_at": f"{date}T23:59:00Z",
            "pseudonym": "hmac-sha256",
            "files": {
                name: {
                    "rows": body.count(b"\n"),
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "size": len(body),
                }
                for name, body in files.items()
            },
            "excluded_users": 0,
        }
        files["manifest.json"] = json.dumps(manifest, sort_keys=True).encode()
        out[date] = files
    return out


def put_exports(s3: Any, bucket: str, days: dict[str, dict[str, bytes]]) -> None:
    """Write each date's files under ``exports/{date}/``, the manifest last."""
    for date, files in days.items():
        for name in sorted(files, key=lambda n: n == "manifest.json"):
            s3.put_object(Bucket=bucket, Key=f"exports/{date}/{name}", Body=files[name])
