"""Ingest paths must not pay for numpy, onnxruntime, scikit-learn, torch or X-Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "numpy",
    "onnxruntime",
    "sklearn",
    "torch",
    "sentence_transformers",
    "aws_xray_sdk",
    "talib",
    "faiss",
)


def test_importing_the_app_loads_no_heavy_module() -> None:
    app_path = str(ROOT / "functions" / "app.py")
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('app', {app_path!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = {name.split(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}
    assert "chalice" in loaded and "learnloop" in loaded  # the import really happened
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


# --- recommendations and text embedding: numpy + onnxruntime (+ tokenizers) only ---------------

TRAINING_ONLY = ("sklearn", "torch", "sentence_transformers", "transformers", "skl2onnx")


def test_the_recommendation_and_text_paths_load_no_training_library() -> None:
    code = (
        "import json, sys\n"
        "import numpy as np\n"
        "from learnloop.recommender import recommend\n"
        "from learnloop.recommender.index import TwoTowerIndex, load_two_tower_artifact\n"
        "from learnloop.models.cache import S3ArtifactLoader, VersionCache\n"
        "from learnloop.text.encoder import TextEncoder\n"
        "from learnloop.models import kinds\n"
        "index = TwoTowerIndex('two_tower', 'v', item_keys=['meme#a', 'news#b'],\n"
        "    content_types=['meme', 'news'], popularity=[1, 2],\n"
        "    item_matrix=np.eye(2, dtype=np.float32), users=['p'],\n"
        "    user_matrix=np.ones((1, 2), np.float32))\n"
        "assert index.recommend(index.user_vector('p'), k=1)\n"
        "assert index.popular(k=1, random_state=0) and index.similar_items('meme#a', k=1)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = {name.split(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}
    assert "numpy" in loaded  # the code really ran
    assert loaded.isdisjoint(TRAINING_ONLY), sorted(loaded & set(TRAINING_ONLY))
    assert "faiss" not in loaded  # only a version that ships an ANN index loads it


def test_the_drift_check_loads_no_training_library() -> None:
    # drift_check deploys with the ingest and inference layers: no scikit-learn, no scipy.
    code = (
        "import json, sys\n"
        "import learnloop.drift.check\n"
        "import learnloop.models.cache\n"
        "from learnloop.drift.statistics import psi, roc_auc\n"
        "assert psi([0.0, 1.0], [0.0, 1.0], bins=2) == 0.0 and roc_auc([0, 1], [0.1, 0.9]) == 1.0\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    # This checkout's layers first: the venv's editable install may point at another one.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "layers")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
    )
    loaded = {name.split(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}
    assert "numpy" in loaded
    assert loaded.isdisjoint((*TRAINING_ONLY, "scipy")), sorted(loaded & {*TRAINING_ONLY, "scipy"})


def test_the_forecast_serving_path_loads_no_training_library() -> None:
    code = (
        "import json, sys\n"
        "import numpy as np\n"
        "from learnloop.market.forecast import serving as forecast_serving\n"
        "from learnloop.market.forecast.features import build_features\n"
        "from learnloop.models import kinds\n"
        "c = np.linspace(100, 120, 80)\n"
        "assert np.isfinite(build_features(c, c, c, c)[-1]).all()\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = {name.split(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}
    assert "numpy" in loaded
    assert loaded.isdisjoint(TRAINING_ONLY), sorted(loaded & set(TRAINING_ONLY))
