"""Scalar series shaped for the charts (api/web/chart_data.py). No I/O."""

from __future__ import annotations

import json
import math

from taskstream.api.web.chart_data import align, compare_charts, new_points, pick_series, series_of, task_charts


def test_series_sharing_x_values_are_not_reindexed() -> None:
    assert align([([1, 2, 3], [0.1, 0.2, 0.3]), ([1, 2, 3], [1, 2, 3])]) == [[1, 2, 3], [0.1, 0.2, 0.3], [1, 2, 3]]


def test_series_with_different_x_values_are_aligned_with_gaps() -> None:
    assert align([([1, 3], [10, 30]), ([2, 3, 4], [2, 3, 4])]) == [
        [1, 2, 3, 4], [10, None, 30, None], [None, 2, 3, 4]]
    assert align([]) == [[]]


def test_non_finite_values_become_gaps() -> None:
    assert align([([1, 2, 3], [math.nan, math.inf, 1.5])]) == [[1, 2, 3], [None, None, 1.5]]


def test_task_charts_one_per_metric_in_name_order() -> None:
    histogram = {"loss": {"val": {"name": "val", "x": [0, 10], "y": [2.0, 1.0]},
                          "train": {"name": "train", "x": [0, 10], "y": [3.0, 0.5]}},
                 "acc": {"val": {"name": "val", "x": [5], "y": [0.9]}}}

    charts = task_charts(histogram)

    assert [c["metric"] for c in charts] == ["acc", "loss"]
    assert charts[1] == {"metric": "loss", "series": ["train", "val"], "data": [[0, 10], [3.0, 0.5], [2.0, 1.0]]}


def test_time_axis_is_in_seconds() -> None:
    (chart,) = task_charts({"m": {"v": {"x": [1_700_000_000_000, 1_700_000_001_500], "y": [1, 2]}}}, time_axis=True)
    assert chart["data"][0] == [1_700_000_000.0, 1_700_000_001.5]


def test_compare_charts_overlay_the_tasks_in_the_given_order() -> None:
    histogram = {"loss": {"train": {"b": {"name": "run B", "x": [1, 2], "y": [5, 6]},
                                    "a": {"name": "run A", "x": [1, 2], "y": [1, 2]}}},
                 "acc": {"t": {"a": {"name": "run A", "x": [1], "y": [1]}},
                         "v": {"b": {"name": "run B", "x": [2], "y": [2]}}}}

    acc, loss = compare_charts(histogram, ["a", "b"])

    assert [s["label"] for s in loss["series"]] == ["run A", "run B"]
    assert loss["data"] == [[1, 2], [1, 2], [5, 6]]
    assert [s["label"] for s in acc["series"]] == ["run A · t", "run B · v"]
    assert [s["dash"] for s in acc["series"]] == [False, True]
    assert acc["data"] == [[1, 2], [1, None], [None, 2]]


def test_pick_series_keeps_whole_metrics_within_the_limit() -> None:
    available = {"a": {"1": {}, "2": {}}, "b": {"1": {}}, "c": {"1": {}, "2": {}}}

    assert pick_series(available, limit=3) == (["a", "b"], ["c"])
    assert pick_series({"big": {str(i): {} for i in range(10)}}, limit=3) == (["big"], [])


def test_new_points_group_events_by_series() -> None:
    events = [{"metric": "loss", "variant": "train", "iter": 5, "timestamp": 2000, "value": 0.5},
              {"metric": "loss", "variant": "train", "iter": 6, "timestamp": 3000, "value": 0.4},
              {"metric": "loss", "variant": "val", "iter": None, "timestamp": 3000, "value": 1}]

    assert new_points(events) == {"loss": {"train": [[5, 6], [0.5, 0.4]]}}
    assert new_points(events, time_axis=True)["loss"]["val"] == [[3.0], [1]]


def test_a_plotly_line_plot_becomes_a_chart() -> None:
    from taskstream.api.web.plots import shape_plot

    figure = {"data": [{"name": "s", "x": [3, 1, 2], "y": [5, 2, 3], "mode": "markers", "type": "scatter"},
                       {"name": "t", "x": [1, 2], "y": [1, 1], "mode": "lines"}], "layout": {"title": "scatter"}}

    shaped = shape_plot({"metric": "m", "variant": "v", "iter": 0, "plot_str": json.dumps(figure)})

    assert (shaped["kind"], shaped["title"], shaped["series"]) == ("chart", "scatter", ["s", "t"])
    assert shaped["data"] == [[1, 2, 3], [2, 3, 5], [1, 1, None]] and shaped["points"] == [True, False]


def test_a_plotly_table_becomes_rows_and_anything_else_json() -> None:
    from taskstream.api.web.plots import shape_plot

    table = {"data": [{"type": "table", "header": {"values": ["a", "b"]}, "cells": {"values": [[1, 3], [2, 4]]}}],
             "layout": {"title": "t"}}
    shaped = shape_plot({"metric": "table", "plot_str": json.dumps(table)})
    assert (shaped["kind"], shaped["header"], shaped["rows"]) == ("table", ["a", "b"], [["1", "2"], ["3", "4"]])

    heatmap = shape_plot({"metric": "h", "plot_str": json.dumps({"data": [{"type": "heatmap", "z": [[1]]}]})})
    assert heatmap["kind"] == "raw" and '"heatmap"' in heatmap["text"]
    assert shape_plot({"metric": "x", "plot_str": "not json"})["kind"] == "raw"


def test_series_of_last_metrics() -> None:
    last = {"h1": {"a": {"metric": "loss", "variant": "train"}, "b": {"metric": "loss", "variant": "val"}},
            "h2": {"a": {"metric": "acc", "variant": "val"}}, "bad": None}
    assert series_of(last) == {"loss": {"train": {}, "val": {}}, "acc": {"val": {}}}
    assert series_of(None) == {}
