"""The web UI's diffs (api/web/diff.py): parameters flattened, tasks compared, audit changes listed. No I/O."""

from __future__ import annotations

from taskstream.api.web.diff import (
    MAX_DIFF_INPUT_LINES,
    MAX_ROWS,
    MAX_TEXT_DIFFS,
    changes,
    compare,
    configuration,
    flatten,
    hyperparameters,
)


def test_flatten_gives_dotted_paths_to_leaves_and_keeps_lists_whole() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": {}}) == {"a.b": 1, "a.c.d": [1, 2], "e": {}}
    assert flatten(None) == {"": None}


def test_hyperparameters_and_configuration_read_the_value_of_each_item() -> None:
    task = {"hyperparams": {"Args": {"lr": {"section": "Args", "name": "lr", "value": "0.1"}},
                            "General": {"epochs": {"value": "3"}}},
            "configuration": {"cfg": {"name": "cfg", "value": "a: 1\nb: 2", "type": "yaml"}}}

    assert hyperparameters(task) == {"Args/lr": "0.1", "General/epochs": "3"}
    assert configuration(task) == {"cfg": "a: 1\nb: 2"}
    assert hyperparameters({"hyperparams": None}) == {} and configuration({}) == {}


def test_compare_marks_differing_and_missing_keys_only() -> None:
    rows = compare([{"Args/lr": "0.1", "Args/bs": "32"}, {"Args/lr": "0.2", "Args/bs": "32", "Args/x": "1"}])

    assert [(r.key, r.values, r.differs) for r in rows] == [
        ("Args/bs", ["32", "32"], False), ("Args/lr", ["0.1", "0.2"], True), ("Args/x", ["", "1"], True)]


def test_a_key_present_with_an_empty_value_differs_from_an_absent_one() -> None:
    (row,) = compare([{"k": ""}, {}])
    assert row.differs


def test_multi_line_values_that_differ_come_with_a_line_diff() -> None:
    (row,) = compare([{"cfg": "a: 1\nb: 2\nc: 3"}, {"cfg": "a: 1\nb: 5\nc: 3"}])

    assert row.differs and row.text_diff is not None
    assert "-b: 2" in row.text_diff and "+b: 5" in row.text_diff


def test_changes_of_an_edit_list_the_fields_it_wrote() -> None:
    before = {"comment": "first", "hyperparams.Args": {"lr": {"value": "0.1"}}, "tags": None}
    after = {"comment": "second", "hyperparams.Args": {"lr": {"value": "0.1"}, "bs": {"value": "8"}}, "tags": ["a"]}

    found = [(c.path, c.before, c.after, c.kind) for c in changes(before, after)]

    assert found == [("comment", "first", "second", "changed"), ("hyperparams.Args.bs.value", "", "8", "added"),
                     ("tags", "", '["a"]', "added")]


def test_changes_of_a_creation_and_a_deletion() -> None:
    assert [(c.path, c.kind) for c in changes(None, {"name": "t", "status": "created"})] == [
        ("name", "added"), ("status", "added")]
    assert [(c.path, c.kind) for c in changes({"name": "t"}, None)] == [("name", "removed")]


def test_long_comparisons_are_cut() -> None:
    assert len(compare([{str(i): i for i in range(MAX_ROWS + 10)}])) == MAX_ROWS
    assert len(changes(None, {str(i): i for i in range(MAX_ROWS + 10)})) == MAX_ROWS


def test_changes_leave_out_skipped_fields_and_treat_an_empty_object_as_none() -> None:
    before = {"hyperparams": {}, "last_update": "t1"}
    after = {"hyperparams": {"Args": {"lr": {"value": "0.1"}}}, "last_update": "t2"}

    found = [(c.path, c.kind) for c in changes(before, after, skip=("last_update",))]

    assert found == [("hyperparams.Args.lr.value", "added")]


def test_line_diffs_are_bounded_by_the_lines_and_their_number() -> None:
    """difflib's time grows with the square of the lines: a long value is compared without a line diff, and one
    comparison makes at most MAX_TEXT_DIFFS of them."""
    long_a = "\n".join(str(i % 300) for i in range(MAX_DIFF_INPUT_LINES + 1))
    long_b = "\n".join(str(i % 301) for i in range(MAX_DIFF_INPUT_LINES + 1))
    row = compare([{"config": long_a}, {"config": long_b}])[0]
    assert row.differs and row.text_diff is None
    many = compare([{"k0": "a\nb"}, {f"k{i}": "a\nc" for i in range(MAX_TEXT_DIFFS + 5)}])
    assert sum(r.text_diff is not None for r in many) == MAX_TEXT_DIFFS
