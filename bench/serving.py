"""Serving latency: ONNX vs scikit-learn per row, the predict route vs a no-op route, cold start.

Starts an embedded moto server on 127.0.0.1, trains a small ridge model on synthetic
engagement rows, writes its ONNX to ``models/engagement/{version}/model.onnx`` and the
``@production`` alias item directly, then measures

* (a) one-row prediction in this process: the ONNX session (:class:`LoadedModel.predict`) vs
  scikit-learn's ``Ridge.predict`` (µs per call and the ratio), plus the whole library path
  :func:`predict_engagement` (validation + features + ONNX, model already cached);
* (b) p50/p99 of ``POST /v1/predict/engagement`` through ``chalice.test.Client`` (read key,
  one row) vs ``GET /v1/health`` (open, no work) in the same run, interleaved; the goal is
  p50(predict) - p50(health) <= 1 ms;
* (c) a fresh process's time to its first prediction: import the serving modules, build the
  clients, read the alias, download and load the ONNX, predict one row (goal <= 0.8 s), and
  the process's whole wall time including interpreter start-up.

Usage::

    python bench/serving.py [--calls 2000] [--requests 500] [--cold 3] [--json]

With ``--json`` the last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
_LAYERS = ROOT / "layers"
APP = ROOT / "functions" / "app.py"
VERSION = "20261120T093000Z"
ROW = {"quality_score": 0.8, "content_type": "educational", "posted_hour": 9, "length": "long"}

COLD = """
import time
t0 = time.perf_counter()
import json, sys
from learnloop.predictors.predict import predict_engagement
from learnloop.models.cache import ModelCache, S3ModelLoader
from learnloop.settings import Settings
from learnloop.store.clients import s3_client
from learnloop.store.tables import Tables
t_import = time.perf_counter()
settings = Settings(**json.loads(sys.argv[1]))
cache = ModelCache(S3ModelLoader(Tables(settings), s3_client(settings)))
t_clients = time.perf_counter()
reply = predict_engagement(cache, {"rows": [json.loads(sys.argv[2])]})
t_end = time.perf_counter()
assert reply["predictions"], reply
print(json.dumps({"import": t_import - t0, "clients": t_clients - t_import,
                  "load_predict": t_end - t_clients, "total": t_end - t0}))
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _per_call_us(fn: Any, calls: int) -> float:
    """Median µs per call over 5 timed loops of ``calls // 5`` calls (after a warm-up)."""
    for _ in range(50):
        fn()
    loop = max(1, calls // 5)
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(loop):
            fn()
        samples.append((time.perf_counter() - start) / loop * 1e6)
    return statistics.median(samples)


def setup(endpoint: str) -> tuple[Any, Any, Any, dict[str, Any]]:
    """A fresh stage on ``endpoint`` with a production engagement model; (settings, tables,
    ridge, settings kwargs)."""
    from sklearn.linear_model import Ridge

    from learnloop.models.artifacts import artifact_prefix
    from learnloop.models.cache import PRODUCTION_ALIAS
    from learnloop.models.conversion import to_onnx
    from learnloop.predictors.features import ENGAGEMENT_FEATURES, engagement_matrix
    from learnloop.settings import Settings
    from learnloop.store import Tables, bootstrap
    from learnloop.store.clients import s3_client

    stage = f"b{uuid.uuid4().hex[:8]}"
    kwargs = {
        "stage": stage,
        "region": "us-east-1",
        "table_prefix": f"{stage}-",
        "bucket": f"{stage}-bucket",
        "endpoint_url": endpoint,
        "pseudonym_secret": "bench-secret",
    }
    settings = Settings(**kwargs)  # type: ignore[arg-type]
    tables = Tables(settings)
    s3 = s3_client(settings)
    bootstrap(settings, tables=tables, s3=s3)
    rng = np.random.default_rng(0)
    rows = [
        {
            "quality_score": float(rng.random()),
            "content_type": str(rng.choice(["educational", "factual", "meme"])),
            "posted_hour": int(rng.integers(0, 24)),
            "length": str(rng.choice(["short", "medium", "long"])),
        }
        for _ in range(500)
    ]
    X = engagement_matrix(rows)
    ridge = Ridge(alpha=1.0).fit(X, 0.02 + 0.04 * X[:, 0] + rng.normal(0, 0.005, len(X)))
    prefix = artifact_prefix("engagement", VERSION)
    onnx = to_onnx(ridge, ENGAGEMENT_FEATURES)
    s3.put_object(Bucket=settings.bucket, Key=f"{prefix}model.onnx", Body=onnx)
    tables.models(
        "engagement", PRODUCTION_ALIAS, target=VERSION, s3_prefix=prefix, created_at="2026"
    ).save()
    return settings, tables, ridge, kwargs


def bench_in_process(tables: Any, ridge: Any, calls: int) -> dict[str, float]:
    """(a): one-row ONNX vs scikit-learn, and the whole library path."""
    from learnloop.models.cache import ModelCache, S3ModelLoader
    from learnloop.predictors.features import engagement_matrix
    from learnloop.predictors.predict import predict_engagement
    from learnloop.store.clients import s3_client

    cache = ModelCache(S3ModelLoader(tables, s3_client(tables.settings)))
    model = cache.get("engagement")
    X = engagement_matrix([ROW])
    assert abs(float(model.predict(X)[0]) - float(ridge.predict(X)[0])) < 1e-5
    body = {"rows": [ROW]}
    onnx_us = _per_call_us(lambda: model.predict(X), calls)
    sklearn_us = _per_call_us(lambda: ridge.predict(X), calls)
    library_us = _per_call_us(lambda: predict_engagement(cache, body), calls)
    return {
        "onnx_us": onnx_us,
        "sklearn_us": sklearn_us,
        "sklearn_over_onnx": sklearn_us / onnx_us,
        "predict_engagement_us": library_us,
    }


def bench_routes(settings: Any, tables: Any, requests: int) -> dict[str, Any]:
    """(b): p50/p99 ms of the predict route vs the health route, interleaved."""
    import importlib.util

    from chalice.test import Client

    from learnloop.api import Services, set_services
    from learnloop.api.auth import create_api_key

    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    services = Services.from_settings(settings)
    set_services(services)
    key = create_api_key(tables, name="bench", scopes=["read"]).secret
    spec = importlib.util.spec_from_file_location("learnloop_bench_app", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    body = json.dumps({"rows": [ROW]})
    predict_ms: list[float] = []
    health_ms: list[float] = []
    try:
        with Client(module.app) as client:
            first = client.http.post("/v1/predict/engagement", headers=headers, body=body)
            if first.status_code != 200:
                return {
                    "route_available": False,
                    "status": first.status_code,
                    "body": first.body.decode("utf-8", "replace")[:200],
                }
            for _ in range(50):  # warm-up: auth cache, model cache, code paths
                client.http.post("/v1/predict/engagement", headers=headers, body=body)
                client.http.get("/v1/health")
            for _ in range(requests):
                start = time.perf_counter()
                response = client.http.post("/v1/predict/engagement", headers=headers, body=body)
                predict_ms.append((time.perf_counter() - start) * 1e3)
                assert response.status_code == 200, response.body
                start = time.perf_counter()
                client.http.get("/v1/health")
                health_ms.append((time.perf_counter() - start) * 1e3)
    finally:
        set_services(None)
    figures = {
        "route_available": True,
        "predict_p50_ms": statistics.median(predict_ms),
        "predict_p99_ms": _percentile(predict_ms, 99),
        "health_p50_ms": statistics.median(health_ms),
        "health_p99_ms": _percentile(health_ms, 99),
    }
    figures["p50_overhead_ms"] = figures["predict_p50_ms"] - figures["health_p50_ms"]
    return figures


def bench_cold(settings_kwargs: dict[str, Any], runs: int) -> dict[str, float]:
    """(c): fresh processes to their first prediction (median of ``runs``)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(_LAYERS), os.environ.get("PYTHONPATH", "")]),
    }
    inner: list[dict[str, float]] = []
    walls: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", COLD, json.dumps(settings_kwargs), json.dumps(ROW)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        walls.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise RuntimeError(result.stderr[-2000:])
        inner.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return {
        "first_prediction_s": statistics.median(r["total"] for r in inner),
        "import_s": statistics.median(r["import"] for r in inner),
        "clients_s": statistics.median(r["clients"] for r in inner),
        "load_predict_s": statistics.median(r["load_predict"] for r in inner),
        "process_wall_s": statistics.median(walls),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per in-process timing")
    parser.add_argument("--requests", type=int, default=500, help="requests per route")
    parser.add_argument("--cold", type=int, default=3, help="fresh processes for (c)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)
    if str(_LAYERS) not in sys.path:
        sys.path.insert(0, str(_LAYERS))
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        settings, tables, ridge, kwargs = setup(f"http://{host}:{port}")
        figures: dict[str, Any] = {
            "in_process": bench_in_process(tables, ridge, args.calls),
            "routes": bench_routes(settings, tables, args.requests),
            "cold_start": bench_cold(kwargs, args.cold),
        }
    finally:
        server.stop()

    a, b, c = figures["in_process"], figures["routes"], figures["cold_start"]
    print(f"{'measure':<44} {'value':>12}")
    print(f"{'(a) ONNX predict, 1 row':<44} {a['onnx_us']:>9.1f} µs")
    print(f"{'(a) scikit-learn predict, 1 row':<44} {a['sklearn_us']:>9.1f} µs")
    print(f"{'(a) scikit-learn / ONNX':<44} {a['sklearn_over_onnx']:>11.2f}x")
    print(f"{'(a) predict_engagement (validate+features+ONNX)':<44} "
          f"{a['predict_engagement_us']:>9.1f} µs")  # fmt: skip
    if b.get("route_available"):
        print(f"{'(b) POST /v1/predict/engagement p50 / p99':<44} "
              f"{b['predict_p50_ms']:>6.3f} / {b['predict_p99_ms']:.3f} ms")  # fmt: skip
        print(f"{'(b) GET /v1/health p50 / p99':<44} "
              f"{b['health_p50_ms']:>6.3f} / {b['health_p99_ms']:.3f} ms")  # fmt: skip
        print(f"{'(b) p50 beyond the no-op route (goal <= 1)':<44} "
              f"{b['p50_overhead_ms']:>9.3f} ms")  # fmt: skip
    else:
        print(f"(b) POST /v1/predict/engagement not available: {b['status']} {b['body']}")
    print(f"{'(c) fresh process to first prediction':<44} {c['first_prediction_s']:>10.3f} s")
    print(f"{'    import / clients / load+predict':<44} "
          f"{c['import_s']:.3f} / {c['clients_s']:.3f} / {c['load_predict_s']:.3f} s")  # fmt: skip
    print(f"{'    whole process (with interpreter start)':<44} {c['process_wall_s']:>10.3f} s")
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    return figures


if __name__ == "__main__":
    main()
