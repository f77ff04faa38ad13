"""The command line: `--home` is accepted before or after any verb, and every verb's --help shows it."""

from __future__ import annotations

import pytest

from taskstream.api.cli import build_parser

VERBS = [["serve"], ["credentials", "list"], ["credentials", "create"], ["credentials", "revoke", "K"],
         ["credentials", "rotate-secret"], ["relay"], ["subscribe", "audit"], ["replay", "--all"], ["history", "T"]]


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_home_after_the_verb_is_the_home_used(verb: list[str]) -> None:
    assert build_parser().parse_args([*verb, "--home", "/data/after"]).home == "/data/after"


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_home_before_the_verb_is_kept(verb: list[str]) -> None:
    assert build_parser().parse_args(["--home", "/data/before", *verb]).home == "/data/before"


def test_home_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKSTREAM_HOME", "/data/env")
    assert build_parser().parse_args(["serve"]).home == "/data/env"


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_every_verb_help_shows_home(verb: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    words = [w for w in verb if w.islower() and not w.startswith("-")]
    with pytest.raises(SystemExit):
        build_parser().parse_args([*words, "--help"])
    assert "--home" in capsys.readouterr().out
