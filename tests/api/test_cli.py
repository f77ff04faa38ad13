"""The command line: `--home` is accepted before or after any verb, and every verb's --help shows it."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from taskstream.api.cli import SECRET_PLACEHOLDER, build_parser, created_key_pair
from taskstream.api.supervisor import MAX_WORKERS, _exit_status

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


def test_a_generated_secret_is_printed_with_its_clearml_conf() -> None:
    printed = created_key_pair("http://127.0.0.1:8008", "KEY", "generated-secret", given=False)
    assert "secret key: generated-secret" in printed
    assert 'secret_key: "generated-secret"' in printed and SECRET_PLACEHOLDER not in printed


def test_a_secret_from_the_environment_is_never_printed() -> None:
    printed = created_key_pair("http://127.0.0.1:8008", "KEY", "given-secret", given=True)
    assert "given-secret" not in printed
    assert "access key: KEY" in printed and f'secret_key: "{SECRET_PLACEHOLDER}"' in printed


def test_workers_default_to_one_and_auto_is_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TASKSTREAM_WORKERS", raising=False)
    assert build_parser().parse_args(["serve"]).workers == 1
    assert build_parser().parse_args(["serve", "--workers", "3"]).workers == 3
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert build_parser().parse_args(["serve", "--workers", "auto"]).workers == 6
    monkeypatch.setattr("os.cpu_count", lambda: 500)
    assert build_parser().parse_args(["serve", "--workers", "auto"]).workers == MAX_WORKERS
    monkeypatch.setenv("TASKSTREAM_WORKERS", "2")
    assert build_parser().parse_args(["serve"]).workers == 2


@pytest.mark.parametrize("value", ["0", "-1", str(MAX_WORKERS + 1), "two", "1.5", ""])
def test_a_bad_workers_value_is_a_clear_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["serve", "--workers", value])
    assert exit_.value.code == 2
    assert f"must be a number from 1 to {MAX_WORKERS}, or auto" in capsys.readouterr().err


def test_a_bad_workers_environment_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TASKSTREAM_WORKERS", "many")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve"])
    assert "TASKSTREAM_WORKERS" in capsys.readouterr().err


def test_log_format_from_the_flag_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TASKSTREAM_LOG_FORMAT", raising=False)
    assert build_parser().parse_args(["serve"]).log_format == "text"
    monkeypatch.setenv("TASKSTREAM_LOG_FORMAT", "json")
    assert build_parser().parse_args(["serve"]).log_format == "json"
    assert build_parser().parse_args(["serve", "--log-format", "text"]).log_format == "text"


def test_a_log_format_the_server_does_not_know_is_refused_by_name(monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A typo in TASKSTREAM_LOG_FORMAT must not silently give text logs to a collector that expects JSON."""
    monkeypatch.setenv("TASKSTREAM_LOG_FORMAT", "jsno")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve"])
    err = capsys.readouterr().err
    assert "TASKSTREAM_LOG_FORMAT" in err and "'jsno'" in err and "json" in err
    monkeypatch.setenv("TASKSTREAM_LOG_FORMAT", " JSON ")
    assert build_parser().parse_args(["serve"]).log_format == "json"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--log-format", "yaml"])


def test_serve_help_explains_workers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--workers" in out and "auto" in out and "--log-format" in out


def test_a_worker_killed_by_a_real_time_signal_is_reported_not_fatal() -> None:
    """The supervisor names how a worker ended; a signal without a name (SIGRTMIN+n) must not raise in its loop."""
    worker = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
    worker.start()
    os.kill(worker.pid or 0, signal.SIGRTMIN + 6)
    worker.join(10)
    assert _exit_status(worker.exitcode) == f"killed by signal {signal.SIGRTMIN + 6}"
    assert _exit_status(-signal.SIGKILL) == "killed by SIGKILL" and _exit_status(3) == "exit code 3"
