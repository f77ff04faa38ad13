"""The embedded PostgreSQL's settings: sized to the machine, written before start, included once."""

from __future__ import annotations

from pathlib import Path

from taskstream.api.embedded_settings import INCLUDE_LINE, SETTINGS_FILE, settings_for, write_settings

GB = 1 << 30


def test_shared_buffers_is_a_quarter_of_memory_between_128_mb_and_2_gb() -> None:
    assert settings_for(GB // 4)["shared_buffers"] == "128MB"
    assert settings_for(4 * GB)["shared_buffers"] == "1024MB"
    assert settings_for(64 * GB)["shared_buffers"] == "2048MB"
    assert settings_for(8 * GB)["effective_cache_size"] == "6144MB"


def test_settings_are_rewritten_and_included_once(tmp_path: Path) -> None:
    (tmp_path / "postgresql.conf").write_text("max_connections = 100\n")
    write_settings(tmp_path, {"work_mem": "8MB"})
    write_settings(tmp_path, {"work_mem": "16MB"})

    assert (tmp_path / "postgresql.conf").read_text().count(INCLUDE_LINE) == 1
    assert "work_mem = '16MB'" in (tmp_path / SETTINGS_FILE).read_text()
    assert "8MB" not in (tmp_path / SETTINGS_FILE).read_text()
