"""The README and the docs point at things that exist: links, anchors, paths and modules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("*/README.md")],
    key=lambda page: str(page),
)

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
HEADING = re.compile(r"^#{1,6}\s+(.*)$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
#: A repository path named in backticks (placeholders such as ``{name}`` are not checked).
REPO_PATH = re.compile(
    r"^(?:layers|functions|training_jobs|learnloop_tools|tests|bench|infra|localstack|docs)"
    r"/[\w./-]*$"
)
MODULE = re.compile(r"^(?:learnloop|learnloop_tools|training_jobs)(?:\.\w+)+$")
#: Where the layout was before the house reorganisation; none of it exists any more.
OLD_PLACES = (
    "layers/learnloop/serving",
    "layers/learnloop/learning",
    "layers/learnloop/training",
    "layers/learnloop/deploy",
    "layers/learnloop/local",
    "layers/learnloop/demo",
    "layers/learnloop/admin",
    "layers/learnloop/auth",
    "layers/learnloop/ratelimit",
    "layers/learnloop/dashboard",
    "layers/learnloop/cli.py",
    "learnloop.serving",
    "learnloop.learning",
    "learnloop.training",
    "learnloop.deploy",
    "learnloop.local",
    "learnloop.demo",
    "learnloop.cli",
    "learning/regression",
    "serving/runtime",
    "jobs/bandit_updates",
)


def _ids(pages: list[Path]) -> list[str]:
    return [str(page.relative_to(ROOT)) for page in pages]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading.

    Examples
    --------
    >>> slug("The demo (`make run`)"), slug("A/B experiments")
    ('the-demo-make-run', 'ab-experiments')
    """
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _prose(page: Path) -> str:
    return FENCE.sub("", page.read_text())


def test_the_readme_is_a_front_door() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in LINK.findall(_prose(page)):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md":
            anchors = {slug(h) for h in HEADING.findall(_prose(resolved))}
            if anchor not in anchors:
                broken.append(f"{target}: no heading #{anchor}")
    assert not broken, broken


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_named_paths_and_modules_exist(page: Path) -> None:
    missing = []
    for span in CODE_SPAN.findall(page.read_text()):
        exists = (ROOT / span).exists() if REPO_PATH.match(span) else True
        if MODULE.match(span):
            exists = _module_exists(span)
        if not exists:
            missing.append(span)
    assert not missing, missing


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_no_place_from_before_the_reorganisation(page: Path) -> None:
    text = page.read_text()
    # Whole names: `learnloop.cli` is gone, `learnloop.client` is not it.
    assert not [old for old in OLD_PLACES if re.search(re.escape(old) + r"(?!\w)", text)]


def _module_exists(dotted: str) -> bool:
    """Whether ``dotted`` is a module or package, or a name it defines (``pkg.mod.Name``)."""
    parts = dotted.split(".")
    base = ROOT / "layers" if parts[0] == "learnloop" else ROOT
    for end in range(len(parts), 0, -1):
        path = base.joinpath(*parts[:end])
        source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        if source.is_file():
            if end == len(parts):
                return True
            # At most one name after the module, and the module must mention it.
            name = parts[end]
            return (
                end == len(parts) - 1 and re.search(rf"\b{name}\b", source.read_text()) is not None
            )
    return False
