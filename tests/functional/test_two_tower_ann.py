"""The two-tower job ships ANN indexes above the threshold, and serving uses them.

The threshold is lowered through the setting the job reads (``LEARNLOOP_RECOMMEND_ANN_MIN_ROWS``)
so a small planted world gets indexes; the served answers are compared with exact search over
the same artifact.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from support.planted import export_days, planted, put_exports
from support.stage import stage_environment

from learnloop.recommender.ann import ANN_FILES
from learnloop.recommender.index import load_two_tower
from training_jobs.two_tower import main

FAST = ["--epochs", "3", "--patience", "3", "--batch-size", "32", "--quiet"]


@pytest.fixture
def job_env(tables: Any, s3: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    settings = tables.settings
    for name, value in stage_environment(settings).items():
        monkeypatch.setenv(name, value)
    rows, items = planted(n_users=40, seed=1)
    put_exports(s3, settings.bucket, export_days(rows, items))
    return settings


def published(s3: Any, bucket: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="models/two_tower/")["Contents"]
    (version,) = {entry["Key"].split("/")[2] for entry in listed}
    prefix = f"models/two_tower/{version}/"
    return {
        entry["Key"][len(prefix) :]: s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
        for entry in listed
    }


def same(got: Any, want: Any) -> bool:
    """The same ranking: scores equal to float32 rounding at every position, and the same row
    wherever that score is not tied with another (items the model cannot tell apart may come
    in either order, as a full and a partial matrix product round them differently)."""
    got_scores, want_scores = np.array([s for _, s in got]), np.array([s for _, s in want])
    if got_scores.shape != want_scores.shape or not np.allclose(got_scores, want_scores, rtol=1e-5):
        return False
    tied = np.isclose(want_scores[:, None], want_scores[None, :], rtol=1e-5).sum(axis=1) > 1
    return all(g[0] == w[0] for g, w, t in zip(got, want, tied, strict=True) if not t)


def test_the_job_ships_indexes_above_the_threshold_and_serving_uses_them(
    job_env: Any, s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEARNLOOP_RECOMMEND_ANN_MIN_ROWS", "1")
    assert main([*FAST, "--text-encoder", "hashing"]) == 0, capsys.readouterr().err
    files = published(s3, job_env.bucket)
    assert set(ANN_FILES) <= set(files)
    manifest = json.loads(files["manifest.json"])
    assert set(ANN_FILES) <= set(manifest["files"])  # listed with their sha256, like the rest
    # Every cell probed: the candidates are every row, so the answers are exact ones.
    served = load_two_tower("two_tower", "v", files, manifest, ann_min_rows=1, ann_probes=10_000)
    exact = load_two_tower("two_tower", "v", {k: v for k, v in files.items() if k not in ANN_FILES})
    assert sorted(served.ann) == sorted(ANN_FILES) and exact.ann == {}
    for pseudonym in served.users[:10]:
        vector = served.user_vector(pseudonym)
        assert vector is not None
        assert same(served.recommend(vector, k=5), exact.recommend(vector, k=5))
        assert same(served.similar_users(pseudonym, k=3), exact.similar_users(pseudonym, k=3))
    key = served.item_keys[0]
    assert same(served.similar_items(key, k=5), exact.similar_items(key, k=5))
    assert np.isfinite([s for _, s in served.recommend(vector, k=5)]).all()


def test_below_the_threshold_the_job_ships_no_index(
    job_env: Any, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*FAST, "--text-encoder", "hashing"]) == 0, capsys.readouterr().err
    assert not set(ANN_FILES) & set(published(s3, job_env.bucket))


def test_a_version_whose_index_cannot_be_read_is_served_exactly(tables: Any, s3: Any) -> None:
    from support.two_tower import random_data, two_tower_manifest

    from learnloop.models.artifacts import artifact_prefix, write_artifact
    from learnloop.models.cache import ProductionRef, S3ArtifactLoader
    from learnloop.recommender.ann import ANN_ITEMS_FILE, build_ann_files
    from learnloop.recommender.index import load_two_tower_artifact

    data = random_data(n_users=20, n_items=60, dim=4)
    files = data.files()
    files.update(build_ann_files(data.item_matrix, data.user_matrix, min_rows=1))
    version = "20261207T010000Z"
    manifest = two_tower_manifest(data, files, version, {"ndcg@10": 0.3})
    bucket = tables.settings.bucket
    write_artifact(s3, bucket, "two_tower", version, files, manifest)
    # The items index in the bucket no longer matches its manifest sha256: it is not served.
    prefix = artifact_prefix("two_tower", version)
    s3.put_object(Bucket=bucket, Key=f"{prefix}{ANN_ITEMS_FILE}", Body=b"changed")
    loader = S3ArtifactLoader(tables, s3)
    index = load_two_tower_artifact(
        loader, ProductionRef("two_tower", version, prefix), ann_min_rows=1
    )
    assert ANN_ITEMS_FILE not in index.ann and set(index.ann) == set(ANN_FILES) - {ANN_ITEMS_FILE}
    vector = data.user_matrix[0]
    want = np.argsort(-(data.item_matrix @ vector))[:5]
    got = [r for r, _ in index.recommend(vector, k=5)]
    assert [index.item_keys[r] for r in got] == [data.item_keys[i] for i in want]
