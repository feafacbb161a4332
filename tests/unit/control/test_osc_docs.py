"""docs/osc.md is what scripts/make_osc_docs.py generates from the address table now."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from installation.control.addresses import ADDRESSES

ROOT = Path(__file__).resolve().parents[3]


def load_script():
    spec = importlib.util.spec_from_file_location(
        "make_osc_docs", ROOT / "scripts/make_osc_docs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_match_the_address_table() -> None:
    script = load_script()
    text = (ROOT / "docs" / "osc.md").read_text(encoding="utf-8")
    assert text == script.render(), "docs/osc.md is stale: run python scripts/make_osc_docs.py"
    assert script.main(["--check"]) == 0


def test_every_address_has_one_row_with_its_example() -> None:
    table = load_script().address_table()
    for entry in ADDRESSES:
        rows = [row for row in table.splitlines() if row.startswith(f"| `{entry.pattern}` |")]
        assert len(rows) == 1
        assert rows[0].endswith(f"| `{entry.example}` |")
