"""The docs' example markers: what is run, and what is refused rather than silently skipped."""

from __future__ import annotations

import pytest
from support.doc_examples import ExampleFormatError, examples_in

BLOCK = '```sh\ncurl -sS "$LEARNLOOP_API_URL/v1/health"\n```\n'


def test_a_marked_block_is_found_with_its_statuses_and_an_unmarked_one_is_not() -> None:
    text = (
        "Prose naming `<!-- example: ... -->` is no marker.\n\n"
        + BLOCK
        + "\n<!-- example: runs against learnloop up; expects 200 202 -->\n"
        + BLOCK
    )
    [example] = examples_in(text, "page.md")
    assert (example.where, example.expected) == ("page.md:9", [200, 202])
    assert example.code == 'curl -sS "$LEARNLOOP_API_URL/v1/health"\n'


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("<!-- example: expects 200 -->\n" + BLOCK, "write <!-- example"),
        ("<!-- example: runs against aws; expects 200 -->\n" + BLOCK, "unknown target"),
        ("<!-- example: runs against learnloop up; expects 200 -->\n\n" + BLOCK, "right before"),
        ("<!-- exmaple: runs against learnloop up; expects 200 -->\n" + BLOCK, "not a marker"),
        ("<!-- example: runs against learnloop up; expects 200 -->\n```sh\ncurl x\n", "closed"),
    ],
)
def test_a_malformed_marker_is_an_error(text: str, complaint: str) -> None:
    with pytest.raises(ExampleFormatError, match=complaint):
        examples_in(text, "page.md")


def test_every_shell_block_of_the_readme_and_docs_is_marked() -> None:
    from pathlib import Path

    from support.doc_examples import unmarked

    root = Path(__file__).resolve().parents[2]
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    assert [where for p in pages for where in unmarked(p.read_text(), p.name)] == []
