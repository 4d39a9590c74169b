"""Every relative link of the markdown files (README.md, docs/, data/, conf/) names a file or
folder that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    ROOT / "README.md",
    *(p for folder in ("docs", "data", "conf") for p in sorted((ROOT / folder).rglob("*.md"))),
]
# [text](target) and ![alt](target); the target ends at white space or ")"
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def relative_links(text: str) -> list[str]:
    """The link targets that point into the repository (no URL, no bare #anchor),
    outside fenced code blocks, without their #anchor."""
    targets = LINK.findall(FENCE.sub("", text))
    return [
        t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")
    ]


def test_links_are_found_outside_code_and_urls_are_skipped() -> None:
    text = "[a](a.md#x) ![b](../b.png) [u](https://x.org) [h](#top)\n```\n[c](c.md)\n```\n"
    assert relative_links(text) == ["a.md", "../b.png"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = [t for t in relative_links(doc.read_text()) if not (doc.parent / t).exists()]
    assert not broken, f"{doc.relative_to(ROOT)}: broken links {broken}"
