"""Artifact links and previews on the task page (api/web/artifacts.py). No I/O."""

from __future__ import annotations

from taskstream.api.web.artifacts import MAX_PREVIEW_CHARS, external_link, files_link, preview

SERVED = "http://127.0.0.1:8008/files/ui%20demo/run.abc/artifacts/stats/stats.json"


def test_files_of_this_server_become_same_origin_paths() -> None:
    assert files_link(SERVED) == "/files/ui%20demo/run.abc/artifacts/stats/stats.json"
    assert files_link("/files/a/b.txt?x=1") == "/files/a/b.txt?x=1"
    assert files_link("s3://bucket/files/a") is None and files_link("http://h/other/a") is None
    assert files_link(None) is None and files_link("") is None


def test_other_http_addresses_are_plain_links_only() -> None:
    assert external_link("https://example.org/x") == "https://example.org/x"
    assert external_link(SERVED) is None and external_link("s3://b/k") is None


def test_the_sdk_preview_is_shown_and_cut() -> None:
    shown = preview({"uri": SERVED, "type_data": {"preview": "x" * (MAX_PREVIEW_CHARS + 1)}})
    assert shown.kind == "text" and shown.truncated and len(shown.text) == MAX_PREVIEW_CHARS


def test_images_served_here_are_previewed_and_small_text_files_fetched() -> None:
    assert preview({"uri": "http://h:1/files/a/img.png"}).kind == "image"
    assert preview({"uri": "s3://b/img.png"}).kind == "none"
    assert preview({"uri": "http://h:1/files/a/data.csv", "content_size": 100}).kind == "fetch"
    assert preview({"uri": "http://h:1/files/a/data.csv", "content_size": 10**9}).kind == "none"
    assert preview({"uri": "http://h:1/files/a/data.csv"}).kind == "none"
