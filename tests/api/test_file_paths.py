"""The pure path rules of the files endpoint (api/files/paths.py): what a URL or a multipart field may name."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskstream.api.files.paths import (
    BadPath,
    company_root,
    display,
    field_file_path,
    file_location,
    url_file_path,
)


@pytest.mark.parametrize(("raw", "parts"), [
    (b"proj/task.1/artifacts/a/data.csv", ("proj", "task.1", "artifacts", "a", "data.csv")),
    (b"my%20project/x%2By.txt", ("my project", "x+y.txt")),
    (b"caf%C3%A9/%E2%9C%93.bin", ("café", "✓.bin")),
    (b"a/..b/c..", ("a", "..b", "c..")),
    (b"", ()),
])
def test_url_paths_map_to_segments(raw: bytes, parts: tuple[str, ...]) -> None:
    assert url_file_path(raw) == parts


@pytest.mark.parametrize("raw", [
    b"../etc/passwd", b"a/../../b", b"a/./b", b"%2e%2e/x", b"%2E%2E/x", b"a/%2e/b",
    b"a%2fb", b"a%2Fb", b"a%5cb", b"a\\b", b"a%00b", b"a\x00b", b"/etc/passwd", b"a//b", b"a/",
    b"%ff/x", b"a%0ab", b"x" * 256,
])
def test_url_paths_that_escape_or_smuggle_are_refused(raw: bytes) -> None:
    with pytest.raises(BadPath):
        url_file_path(raw)


def test_encoded_percent_is_decoded_once() -> None:
    assert url_file_path(b"%252e%252e") == ("%2e%2e",)


def test_field_names_strip_leading_slashes_as_the_reference_does() -> None:
    assert field_file_path("/proj/task.1/artifacts/a b/f.txt") == ("proj", "task.1", "artifacts", "a b", "f.txt")
    assert field_file_path("//x/y") == ("x", "y")


def test_field_names_join_below_the_post_path() -> None:
    assert field_file_path("a/b.txt", ("base",)) == ("base", "a", "b.txt")


@pytest.mark.parametrize("name", ["", "/", "a/../b", "../b", "a/./b", "a//b", "a\\b", "C:\\x", "a\x00b", "a/"])
def test_bad_field_names_are_refused(name: str) -> None:
    with pytest.raises(BadPath):
        field_file_path(name)


def test_company_root_and_location_stay_below_the_root(tmp_path: Path) -> None:
    company = company_root(tmp_path, "d1bd92a3b039400cbafc60a7a5b1e52b")
    assert company == tmp_path / "d1bd92a3b039400cbafc60a7a5b1e52b"
    assert file_location(company, ("a", "b.txt")) == company / "a" / "b.txt"
    assert display(("a", "b.txt")) == "a/b.txt"


@pytest.mark.parametrize("company", ["", "..", "a/b", "a b", "x" * 65])
def test_company_ids_must_be_one_folder_name(tmp_path: Path, company: str) -> None:
    with pytest.raises(BadPath):
        company_root(tmp_path, company)


def test_the_root_itself_is_never_a_file() -> None:
    with pytest.raises(BadPath):
        file_location(Path("/srv/files/c"), ())
