"""Generated hostile input: schemathesis over our OpenAPI document against the served stack.

Every operation is run with keys of each scope (and none), with valid-looking (positive) and
schema-violating (negative) cases. No case may get a 5xx; every 4xx must carry the error
envelope. The counts are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.app import declared_routes

from learnloop.api.openapi import ERROR_SCHEMA, build_document
from learnloop.settings import Settings
from learnloop_tools.local import Runner

pytestmark = pytest.mark.e2e

#: (examples with the route's own scope, with each other key, without a key), per mode.
EXAMPLES = {"own": 22, "other": 5, "none": 2}
MIN_CASES = 1000


#: The run sends bursts far above any client's: the served app's limits are lifted for it.
UNLIMITED = {
    f"LEARNLOOP_RATE_LIMIT_{scope}_PER_SECOND": "0" for scope in ("INGEST", "READ", "ADMIN")
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    stage = f"st{uuid.uuid4().hex[:6]}"
    settings = Settings(stage=stage, table_prefix=f"{stage}-", bucket=f"{stage}-bucket")
    state = tmp_path_factory.mktemp("schemathesis")
    saved = {name: os.environ.get(name) for name in UNLIMITED}
    os.environ.update(UNLIMITED)  # the app builds its services from the environment
    try:
        with Runner(
            port=0, state_dir=state, settings=settings, snapshot_seconds=0, app_schedules=False
        ) as runner:
            yield runner
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Tally:
    """What the generated cases got: per-operation counts, statuses, and every failure."""

    def __init__(self, base_url: str) -> None:
        import jsonschema

        self.base_url = base_url
        self.cases: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self.call_seconds = 0.0
        self.seconds: dict[str, float] = {}
        self._errors = jsonschema.Draft202012Validator(ERROR_SCHEMA)

    def check(self, case: Any, key: str | None, where: str) -> None:
        self.seconds.setdefault(where, 0.0)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if case.headers:
            case.headers.pop("Authorization", None)
        started = time.perf_counter()
        response = case.call(base_url=self.base_url, headers=headers, timeout=30)
        self.call_seconds += time.perf_counter() - started
        status = response.status_code
        self.cases[where] += 1
        self.statuses[status] += 1
        where = f"{case.operation.label} [{where}] -> {status}"
        if status == 429:
            self.failures.append(f"{where}: rate limited although the limits are off")
        if status >= 500:
            self.failures.append(f"{where}: {response.content[:300]!r}\n{case.as_curl_command()}")
        elif status >= 400:
            try:
                body = json.loads(response.content)
            except ValueError:
                self.failures.append(f"{where}: not JSON: {response.content[:200]!r}")
                return
            errors = [e.message for e in self._errors.iter_errors(body)]
            if errors:
                self.failures.append(f"{where}: not the error envelope: {errors[:2]}")


def exercise(tally: Tally, strategy: Any, key: str | None, where: str, examples: int) -> None:
    """Run ``examples`` generated cases of one operation with one key."""
    from hypothesis import HealthCheck, Phase, given, settings

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        tally.check(case, key, where)

    started = time.perf_counter()
    try:
        run()
    finally:
        tally.seconds[where] = time.perf_counter() - started


def test_generated_cases_never_get_a_server_error(stack: Runner, tmp_path: Path) -> None:
    import schemathesis
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    # The document the stack serves, as a client would fetch it.
    with urllib.request.urlopen(f"{stack.api_url}/v1/openapi.json", timeout=30) as reply:
        document = json.loads(reply.read())
    routes = declared_routes()
    assert document == build_document(routes)
    schema = schemathesis.openapi.from_dict(document)
    keys = stack.keys
    tally = Tally(str(stack.api_url))
    scope_of = {(r.method.lower(), r.path): r.scope for r in routes}

    started = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        scope = scope_of[(operation.method.lower(), operation.path)]
        variants: list[tuple[str, str | None, int]] = []
        if scope is None:
            variants.append(("open", None, EXAMPLES["own"]))
        else:
            variants.append((scope.value, keys[scope.value], EXAMPLES["own"]))
            variants += [
                (other, keys[other], EXAMPLES["other"]) for other in keys if other != scope.value
            ]
            variants.append(("no key", None, EXAMPLES["none"]))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            for label, key, examples in variants:
                where = f"{operation.label} [{label}, {mode.value}]"
                try:
                    exercise(tally, strategy, key, where, examples)
                except Unsatisfiable:
                    # No parameters and no body: nothing to make invalid in negative mode.
                    assert mode is GenerationMode.NEGATIVE, where
                    break

    elapsed = time.perf_counter() - started
    total = sum(tally.cases.values())
    statuses = tally.statuses
    print(
        f"\nschemathesis: {total} generated cases over {len(tally.cases)} "
        f"(operation, key, mode) runs of {len(document['paths'])} paths"
    )
    print("status counts: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    print(f"server errors (5xx): {server_errors}")
    print(f"{elapsed:.1f} s in all, {tally.call_seconds:.1f} s waiting for the API")
    slowest = sorted(tally.seconds.items(), key=lambda kv: -kv[1])[:5]
    print("slowest runs: " + "; ".join(f"{k} {v:.1f} s" for k, v in slowest))
    (tmp_path / "schemathesis-counts.json").write_text(
        json.dumps({"total": total, "statuses": statuses, "cases": tally.cases}, indent=1)
    )
    assert not tally.failures, "\n".join(tally.failures[:20])
    assert server_errors == 0
    assert total >= MIN_CASES, f"only {total} cases were generated"
