"""Generated hostile input: schemathesis over our OpenAPI document against the served stack.

Every operation is run with keys of each scope (and none), with valid-looking (positive) and
schema-violating (negative) cases. No case may get a 5xx; every 4xx must carry the error
envelope. The counts are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from learnloop.api.openapi import ERROR_SCHEMA, ROUTES, build_document
from learnloop.local import Runner
from learnloop.settings import Settings

pytestmark = pytest.mark.e2e

#: (examples with the route's own scope, with each other key, without a key), per mode.
EXAMPLES = {"own": 24, "other": 6, "none": 3}
MIN_CASES = 1000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    stage = f"st{uuid.uuid4().hex[:6]}"
    settings = Settings(
        stage=stage,
        table_prefix=f"{stage}-",
        bucket=f"{stage}-bucket",
        # The run sends bursts far above any client's: lift the limits for it.
        rate_limit_ingest_per_second=0,
        rate_limit_read_per_second=0,
        rate_limit_admin_per_second=0,
    )
    state = tmp_path_factory.mktemp("schemathesis")
    with Runner(
        port=0, state_dir=state, settings=settings, snapshot_seconds=0, app_schedules=False
    ) as runner:
        yield runner


def test_generated_cases_never_get_a_server_error(stack: Runner, tmp_path: Path) -> None:
    import jsonschema
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import GenerationMode

    document = build_document()
    schema = schemathesis.openapi.from_dict(document)
    error_validator = jsonschema.Draft202012Validator(ERROR_SCHEMA)
    keys = stack.keys
    counts: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    scope_of = {(r.method.lower(), r.path): r.scope for r in ROUTES}

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
            variants.append(("none", None, EXAMPLES["none"]))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            for label, key, examples in variants:

                @settings(
                    max_examples=examples,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=strategy)
                def run(
                    case: Any, key: str | None = key, label: str = label, mode: Any = mode
                ) -> None:
                    headers = {"Authorization": f"Bearer {key}"} if key else {}
                    if case.headers:
                        case.headers.pop("Authorization", None)
                    response = case.call(base_url=stack.api_url, headers=headers, timeout=30)
                    status = response.status_code
                    counts[f"{case.operation.label} [{label}]"] += 1
                    statuses[status] += 1
                    where = f"{case.operation.label} [{label}, {mode.value}] -> {status}"
                    if status >= 500:
                        failures.append(
                            f"{where}: {response.content[:300]!r}\n{case.as_curl_command()}"
                        )
                    elif status >= 400:
                        try:
                            body = json.loads(response.content)
                        except ValueError:
                            failures.append(f"{where}: not JSON: {response.content[:200]!r}")
                            return
                        errors = [e.message for e in error_validator.iter_errors(body)]
                        if errors:
                            failures.append(f"{where}: not the error envelope: {errors[:2]}")

                run()

    total = sum(counts.values())
    print(f"\nschemathesis: {total} generated cases over {len(document['paths'])} paths")
    print("status counts: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    print(f"server errors (5xx): {server_errors}")
    (tmp_path / "schemathesis-counts.json").write_text(
        json.dumps({"total": total, "statuses": statuses, "cases": counts}, indent=1)
    )
    assert not failures, "\n".join(failures[:20])
    assert server_errors == 0
    assert total >= MIN_CASES, f"only {total} cases were generated"
