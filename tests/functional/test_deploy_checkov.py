"""The generated CloudFormation template passes checkov (issue 18): every finding is fixed in the
template or accepted there with its reason (``learnloop_tools/deploy/security.py``), and the
checks that matter most pass on every resource they apply to.

checkov runs from its own venv (``tests/support/checkov.py``); offline, ``--skip-download``.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter, defaultdict
from typing import Any

import pytest
from support.checkov import checkov_executable
from support.deploy import resources_of

from learnloop_tools.deploy.build import build
from learnloop_tools.deploy.runtimes import get_runtime
from learnloop_tools.deploy.security import ACCEPTED

pytestmark = pytest.mark.heavy(100)  # seconds in CI: see tests/conftest.py

#: Checks that must pass on every resource of the type (the issue's list).
MUST_PASS: dict[str, tuple[str, ...]] = {
    # least privilege
    "AWS::IAM::Role": (
        "CKV_AWS_60", "CKV_AWS_61", "CKV_AWS_62", "CKV_AWS_63",
        "CKV_AWS_107", "CKV_AWS_108", "CKV_AWS_109", "CKV_AWS_110", "CKV_AWS_111",
    ),
    # point-in-time recovery
    "AWS::DynamoDB::Table": ("CKV_AWS_28",),
    # encryption at rest, public access blocks
    "AWS::S3::Bucket": (
        "CKV_AWS_19", "CKV_AWS_20", "CKV_AWS_21", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55",
        "CKV_AWS_56", "CKV_AWS_57",
    ),
    # log retention
    "AWS::Logs::LogGroup": ("CKV_AWS_66",),
    "AWS::Lambda::Function": ("CKV_AWS_45", "CKV_AWS_363"),
    "AWS::ECR::Repository": ("CKV_AWS_32", "CKV_AWS_163"),
}  # fmt: skip


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    from learnloop.settings import Settings

    checkov = checkov_executable()
    if checkov is None:
        pytest.skip("checkov's venv could not be made (no package index): run make checkov")
    out = tmp_path_factory.mktemp("checkov")
    result = build(
        Settings(stage="prod", table_prefix="sec-", bucket="sec-bucket"),
        get_runtime(),
        out,
        artifacts_bucket="artifacts",
        skip_layers=True,
        echo=lambda m: None,
    )
    ran = subprocess.run(
        [
            str(checkov),
            "--file", str(result.template_path),
            "--framework", "cloudformation",
            "--output", "json",
            "--skip-download",  # offline: no guidelines or platform policies
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(out), "BC_SKIP_MAPPING": "TRUE"},
    )  # fmt: skip
    assert ran.returncode in (0, 1), ran.stderr[-2000:]
    report = json.loads(ran.stdout)
    report = report[0] if isinstance(report, list) else report
    return result.template, report


def test_no_finding_is_left_unfixed_or_unexplained(scan: tuple[dict, dict]) -> None:
    _, report = scan
    failed = report.get("results", {}).get("failed_checks", [])
    assert [f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in failed] == []
    skipped = report["results"]["skipped_checks"]
    assert skipped, "the accepted findings are read from the template's metadata"
    assert all(len(s["check_result"].get("suppress_comment", "")) > 20 for s in skipped)


def test_every_accepted_finding_names_its_reason_in_the_template(scan: tuple[dict, dict]) -> None:
    template, _ = scan
    for kind, accepted in ACCEPTED.items():
        for resource in resources_of(template, kind).values():
            skip = {e["id"]: e["comment"] for e in resource["Metadata"]["checkov"]["skip"]}
            assert {check for check, _ in accepted} <= set(skip)
            assert all(skip.values())


def test_least_privilege_pitr_public_blocks_and_retention_pass_everywhere(
    scan: tuple[dict, dict],
) -> None:
    template, report = scan
    passed: dict[str, Counter[str]] = defaultdict(Counter)
    for check in report["results"]["passed_checks"]:
        passed[check["check_id"]][check["resource"].split(".")[0]] += 1
    for kind, checks in MUST_PASS.items():
        count = len(resources_of(template, kind))
        assert count, kind
        for check in checks:
            assert passed[check][kind] == count, (check, kind, passed[check][kind], count)
