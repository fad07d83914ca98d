"""Helpers of the deploy tests: cfn-lint and the expected resources read from the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def cfn_lint(path: Path) -> list[Any]:
    """cfn-lint's matches for a template file (errors and warnings), offline."""
    from cfnlint.api import ManualArgs, lint

    # One region: linting for every region multiplies the time by ~30 for the same rules.
    return list(lint(path.read_text(), config=ManualArgs(regions=["us-east-1"])))


def errors(matches: list[Any]) -> list[str]:
    """The error-level matches (rule ids ``E...``) as readable lines."""
    return [str(m) for m in matches if m.rule.id.startswith("E")]


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Resources of one CloudFormation type, by logical id."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}
