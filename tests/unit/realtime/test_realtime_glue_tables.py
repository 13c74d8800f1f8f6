"""The platform stack's Glue tables of the real-time lake tables are generated from the sinks' schemas
(realtime/glue_tables.py): the template holds exactly what the generator renders, and a changed sink
column shows up as a stale template until the block is rewritten."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from realtime import glue_tables
from realtime.job import sinks


def test_the_template_holds_the_generated_tables() -> None:
    text = glue_tables.TEMPLATE.read_text(encoding="utf-8")
    assert glue_tables.current_block(text) == glue_tables.render(), (
        "infra/platform.yaml's real-time tables differ from realtime/job/sinks.py: "
        "run .venv/bin/python -m realtime.glue_tables --write"
    )
    for table, directory in sinks.DIRECTORIES.items():
        assert f"  {glue_tables.resource_name(table)}:\n" in text and f"Name: realtime_{directory}\n" in text


def test_a_new_sink_column_makes_the_template_stale_until_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = tmp_path / "platform.yaml"
    shutil.copy(glue_tables.TEMPLATE, template)
    before = template.read_text(encoding="utf-8")
    monkeypatch.setitem(sinks.COLUMNS, sinks.MINUTE_TABLE, [*sinks.COLUMNS[sinks.MINUTE_TABLE], ("refunds", "BIGINT")])
    assert glue_tables.current_block(before) != glue_tables.render()
    assert glue_tables.write(template) is True
    after = template.read_text(encoding="utf-8")
    assert '            - {Name: refunds, Type: "bigint"}\n' in after
    assert glue_tables.current_block(after) == glue_tables.render()
    # only the block changed: what surrounds it is kept byte for byte
    head, tail = before.split(glue_tables.BEGIN)[0], before.split(glue_tables.END)[1]
    assert after.startswith(head) and after.endswith(tail)
    assert glue_tables.write(template) is False  # idempotent


def test_a_template_without_the_markers_is_refused(tmp_path: Path) -> None:
    template = tmp_path / "platform.yaml"
    template.write_text("Resources: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no generated real-time tables block"):
        glue_tables.write(template)
