"""The JSON Schema of shows: shipped file in sync, enums matching the dataclasses' Literals."""

from __future__ import annotations

import json

import pytest

from installation.cli import main
from installation.show.jsonschema import SCHEMA_PATH, schema_text, show_json_schema
from installation.show.schema import EASING_NAMES, PATH_KINDS, Walk


def test_shipped_schema_file_is_what_the_code_produces() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "shows/show.schema.json is stale: run `latent-walk schema > shows/show.schema.json`"
    )


def test_schema_structure_and_enums() -> None:
    schema = show_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["models", "sections"]
    section = schema["properties"]["sections"]["items"]
    walk = section["properties"]["walk"]
    assert walk["properties"]["path"]["enum"] == list(PATH_KINDS)
    assert walk["properties"]["easing"]["enum"] == list(EASING_NAMES)
    assert set(Walk.__dataclass_fields__) <= set(walk["properties"])
    assert all("description" in p for p in walk["properties"].values())


def test_easing_names_match_the_literal() -> None:
    assert EASING_NAMES[:2] == ("linear", "sine_in_out") and len(set(EASING_NAMES)) == 14


def test_cli_schema_prints_the_schema(capsys: pytest.CaptureFixture) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == show_json_schema()
