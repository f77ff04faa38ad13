// The task and compare pages' scripts: scalar charts (uPlot), plots, console log, parameter search, artifact
// previews, and the live parts (new points and lines when the live feed says the task reported).
// No framework, no build step: uPlot is vendored under /ui/static/vendor/uplot (deploy/web/fetch_uplot.py).
(function () {
  "use strict";

  var PALETTE = ["#2f7ed8", "#e4572e", "#17a589", "#a05195", "#f0a202", "#5c6bc0", "#d45087", "#2e8b57",
    "#8d6e63", "#00838f", "#c0ca33", "#6d4c41"];

  function css(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function json(url) {
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}}).then(function (r) {
      var type = r.headers.get("content-type") || "";
      if (!r.ok || type.indexOf("application/json") !== 0) {
        throw new Error(r.status === 404 ? "not found" : "the server answered " + r.status + " (sign in again?)");
      }
      return r.json();
    });
  }

  // ---- smoothing and scales (applied to a copy of the raw points, which stay as reported) ----

  // Exponential moving average with TensorBoard's debiasing, gaps kept as gaps.
  function smooth(ys, weight) {
    if (!weight) return ys;
    var out = new Array(ys.length), last = 0, n = 0;
    for (var i = 0; i < ys.length; i++) {
      var y = ys[i];
      if (y === null || y === undefined) { out[i] = null; continue; }
      last = last * weight + (1 - weight) * y;
      n++;
      out[i] = last / (1 - Math.pow(weight, n));
    }
    return out;
  }

  function positive(ys) {
    return ys.map(function (y) { return y === null || y <= 0 ? null : y; });
  }

  function shown(raw, settings) {
    var data = [raw[0]];
    for (var i = 1; i < raw.length; i++) {
      var ys = smooth(raw[i], settings.smoothing);
      data.push(settings.log ? positive(ys) : ys);
    }
    return data;
  }

  function countPoints(raw) {
    var n = 0;
    for (var i = 1; i < raw.length; i++) for (var j = 0; j < raw[i].length; j++) if (raw[i][j] !== null) n++;
    return n;
  }

  // ---- one chart ----

  function seriesLabel(s) { return typeof s === "string" ? s : s.label; }

  function colourOf(s, i, colours) {
    if (colours && typeof s === "object" && s.task in colours) return colours[s.task];
    return PALETTE[i % PALETTE.length];
  }

  function options(chart, settings, width, colours) {
    var fg = css("--text", "#222"), grid = css("--border", "rgba(128,128,128,0.25)");
    var axis = {stroke: fg, grid: {stroke: grid, width: 1}, ticks: {stroke: grid, width: 1}};
    var series = [{label: settings.time ? "time" : "iteration"}];
    chart.series.forEach(function (s, i) {
      var dash = typeof s === "object" && s.dash ? [6, 4] : undefined;
      series.push({label: seriesLabel(s), stroke: colourOf(s, i, colours), width: 1.5, dash: dash, spanGaps: true,
        points: {show: !!(chart.points && chart.points[i])}, paths: chart.points && chart.points[i] ? function () { return null; } : undefined});
    });
    return {
      width: width, height: 260, title: chart.title || chart.metric,
      scales: {x: {time: !!settings.time}, y: settings.log ? {distr: 3, log: 10} : {}},
      axes: [axis, Object.assign({}, axis, {size: 60})],
      series: series,
      legend: {live: true},
      hooks: {setSeries: [pressed]},
      cursor: {drag: {x: true, y: false}},
    };
  }

  function Chart(holder, chart, settings, colours) {
    this.holder = holder;
    this.chart = chart;
    this.raw = chart.data;
    this.colours = colours;
    this.draw(settings);
  }

  Chart.prototype.draw = function (settings) {
    if (this.plot) this.plot.destroy();
    this.settings = settings;
    var width = Math.max(240, this.holder.clientWidth || 600);
    this.plot = new uPlot(options(this.chart, settings, width, this.colours), shown(this.raw, settings), this.holder);
    keyboardLegend(this.plot);
    this.mark();
  };

  // The legend's series toggle by keyboard too (Enter or Space), not only by click.
  function keyboardLegend(plot) {
    plot.root.querySelectorAll(".u-legend .u-series").forEach(function (row, i) {
      if (i === 0) return;  // the x axis
      row.tabIndex = 0;
      row.setAttribute("role", "button");
      row.setAttribute("aria-pressed", "true");
      row.addEventListener("keydown", function (event) {
        if (event.key !== "Enter" && event.key !== " ") return;
        event.preventDefault();
        plot.setSeries(i, {show: !plot.series[i].show});
      });
    });
  }

  function pressed(u, i) {
    var row = u.root.querySelectorAll(".u-legend .u-series")[i];
    if (row && i) row.setAttribute("aria-pressed", String(u.series[i].show));
  }

  Chart.prototype.refresh = function () {
    this.plot.setData(shown(this.raw, this.settings));
    this.mark();
  };

  Chart.prototype.mark = function () {
    this.holder.dataset.drawn = "1";
    this.holder.dataset.series = String(this.raw.length - 1);
    this.holder.dataset.points = String(countPoints(this.raw));
  };

  Chart.prototype.resize = function () {
    var width = Math.max(240, this.holder.clientWidth || 600);
    if (this.plot && Math.abs(this.plot.width - width) > 2) this.plot.setSize({width: width, height: 260});
  };

  // Index of x in the sorted xs, or -(insertion point) - 1.
  function search(xs, x) {
    var lo = 0, hi = xs.length - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (xs[mid] < x) lo = mid + 1; else if (xs[mid] > x) hi = mid - 1; else return mid;
    }
    return -lo - 1;
  }

  // Add reported points of one series (column `col`); a point at an x already drawn replaces its value.
  Chart.prototype.add = function (col, xs, ys) {
    var raw = this.raw;
    for (var i = 0; i < xs.length; i++) {
      var at = search(raw[0], xs[i]);
      if (at < 0) {
        at = -at - 1;
        raw[0].splice(at, 0, xs[i]);
        for (var c = 1; c < raw.length; c++) raw[c].splice(at, 0, null);
      }
      raw[col][at] = ys[i];
    }
  };

  // ---- a page of charts (task scalars: lazily per metric; compare: all at once) ----
  // The task page lists its metrics in `data-metrics` (from the task's last_metrics): one card each, whose points
  // are fetched when the card comes into view, a few metrics per request, two requests at a time. So the first
  // screen is drawn after reading its own metrics, not the whole task's (10^6 points take the server ~1 s).

  var BATCH = 2, PARALLEL = 2;

  function ChartPage(root) {
    this.root = root;
    this.grid = root.querySelector("[data-chart-grid]");
    this.status = root.querySelector("[data-charts-status]");
    this.empty = root.querySelector("[data-charts-empty]");
    this.charts = {};
    this.cards = {};
    this.queue = [];
    this.inflight = 0;
    this.settings = {smoothing: 0, log: false, time: false};
    this.lazy = root.dataset.metrics !== undefined;
    this.controls();
    var page = this;
    if (this.lazy && window.IntersectionObserver) {
      this.observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) { if (entry.isIntersecting) page.want(entry.target.dataset.metric); });
      }, {rootMargin: "0px"});
    }
    if (this.lazy) this.start(JSON.parse(root.dataset.metrics)); else this.load();
    if (window.ResizeObserver) {
      new ResizeObserver(function () { page.each(function (c) { c.resize(); }); }).observe(this.grid);
    }
    if (root.dataset.live) {
      live({open: function () { page.catchUp(); }, telemetry: function (events) { page.pushed(events); }});
    }
    window.taskstreamCharts = this;
  }

  ChartPage.prototype.each = function (fn) {
    for (var key in this.charts) fn(this.charts[key]);
  };

  ChartPage.prototype.controls = function () {
    var page = this, root = this.root;
    var slider = root.querySelector("[data-smoothing]"), out = root.querySelector("[data-smoothing-value]");
    if (slider) slider.addEventListener("input", function () {
      page.settings.smoothing = Number(slider.value);
      if (out) out.textContent = slider.value;
      page.each(function (c) { c.settings = page.settings; c.refresh(); });
    });
    var log = root.querySelector("[data-log-scale]");
    if (log) log.addEventListener("change", function () {
      page.settings.log = log.checked;
      page.each(function (c) { c.draw(page.settings); });
    });
    var axis = root.querySelector("[data-x-axis]");
    if (axis) axis.addEventListener("change", function () {
      page.settings.time = axis.value === "time";
      if (page.lazy) page.start(Object.keys(page.cards)); else page.load();
    });
    var filter = root.querySelector("[data-chart-filter]");
    if (filter) filter.addEventListener("input", function () {
      var text = filter.value.toLowerCase();
      root.querySelectorAll("[data-chart-card]").forEach(function (card) {
        card.hidden = text !== "" && card.dataset.metric.toLowerCase().indexOf(text) < 0;
      });
    });
  };

  ChartPage.prototype.url = function (path, metrics) {
    var base = this.root.dataset.charts + (path || "");
    var query = "x=" + (this.settings.time ? "time" : "iter");
    (metrics || []).forEach(function (m) { query += "&metric=" + encodeURIComponent(m); });
    return base + (base.indexOf("?") < 0 ? "?" : "&") + query;
  };

  ChartPage.prototype.clear = function () {
    this.each(function (c) { c.plot.destroy(); });
    this.charts = {};
    this.cards = {};
    this.queue = [];
    this.grid.textContent = "";
    if (this.observer) this.observer.disconnect();
  };

  ChartPage.prototype.card = function (metric) {
    var card = document.createElement("figure");
    card.className = "card chart-card";
    card.dataset.chartCard = "1";
    card.dataset.metric = metric;
    var holder = document.createElement("div");
    holder.className = "chart";
    holder.dataset.metric = metric;
    card.appendChild(holder);
    this.grid.appendChild(card);
    this.cards[metric] = card;
    return card;
  };

  // Lazy mode: a card per metric, each loaded when seen.
  ChartPage.prototype.start = function (metrics) {
    this.clear();
    this.started = performance.now();
    delete this.root.dataset.ready;
    if (this.empty) this.empty.hidden = metrics.length > 0;
    var page = this;
    metrics.forEach(function (metric) { page.add(metric); });
    this.status.textContent = metrics.length ? metrics.length + " metrics" : "";
    this.settle();
  };

  ChartPage.prototype.add = function (metric) {
    var card = this.card(metric);
    card.querySelector(".chart").textContent = "Loading " + metric + "…";
    // the cards on the first screen are asked for at once (the observer reports them only a frame later)
    if (!this.observer || card.getBoundingClientRect().top < window.innerHeight) this.want(metric);
    if (this.observer) this.observer.observe(card);
  };

  ChartPage.prototype.want = function (metric) {
    var card = this.cards[metric];
    if (!card || card.dataset.requested) return;
    card.dataset.requested = "1";
    this.queue.push(metric);
    this.pump();
  };

  ChartPage.prototype.pump = function () {
    var page = this;
    while (this.inflight < PARALLEL && this.queue.length) {
      var metrics = this.queue.splice(0, BATCH);
      this.inflight++;
      json(this.url("", metrics)).then(function (answer) { page.drawn(metrics, answer); })
        .catch(function (error) { page.status.textContent = "Charts could not be loaded: " + error.message; })
        .then(function () { page.inflight--; page.pump(); page.settle(); });
    }
  };

  ChartPage.prototype.drawn = function (metrics, answer) {
    this.advance(answer.cursor);
    var page = this, found = {};
    answer.charts.forEach(function (chart) {
      found[chart.metric] = true;
      var card = page.cards[chart.metric] || page.card(chart.metric);
      var holder = card.querySelector(".chart");
      holder.textContent = "";
      if (page.charts[chart.metric]) page.charts[chart.metric].plot.destroy();
      page.charts[chart.metric] = new Chart(holder, chart, page.settings, null);
    });
    metrics.forEach(function (metric) {  // a metric with single values only has no chart
      if (!found[metric] && page.cards[metric]) { page.cards[metric].remove(); delete page.cards[metric]; }
    });
    var count = Object.keys(this.cards).length;
    this.status.textContent = count + (count === 1 ? " metric" : " metrics");
    if (this.empty) this.empty.hidden = count > 0;
  };

  // Every chart asked for so far is drawn: the page is ready (a frame later every chart is on screen).
  ChartPage.prototype.settle = function () {
    if (this.inflight || this.queue.length || this.root.dataset.ready) return;
    var root = this.root;
    root.dataset.ready = "1";
    this.loaded = true;
    requestAnimationFrame(function () {
      setTimeout(function () { root.dataset.readyAt = String(Math.round(performance.now())); }, 0);
    });
    if (this.catchUpLater) { this.catchUpLater = false; this.poll(); }
  };

  ChartPage.prototype.advance = function (cursor) {
    var now = this.cursor;
    if (cursor && (!now || cursor[0] > now[0] || (cursor[0] === now[0] && cursor[1] > now[1]))) this.cursor = cursor;
  };

  // All at once (the compare page).
  ChartPage.prototype.load = function () {
    var page = this;
    this.status.textContent = "Loading charts…";
    delete this.root.dataset.ready;
    this.inflight++;
    json(this.url()).then(function (answer) {
      page.clear();
      if (page.empty) page.empty.hidden = answer.charts.length > 0;
      answer.charts.forEach(function (chart) {
        var holder = page.card(chart.metric).querySelector(".chart");
        page.charts[chart.metric] = new Chart(holder, chart, page.settings, answer.colours || null);
      });
      page.status.textContent = answer.charts.length ? answer.charts.length + " charts" +
        (answer.left_out && answer.left_out.length ? " (" + answer.left_out.length + " more metrics not drawn: " +
          answer.left_out.slice(0, 10).join(", ") + (answer.left_out.length > 10 ? "…" : "") + ")" : "") : "";
    }).catch(function (error) {
      page.status.textContent = "The charts could not be loaded: " + error.message;
    }).then(function () { page.inflight--; page.settle(); });
  };

  // The live feed (re)connected: read what was reported since the points drawn (once they are drawn).
  ChartPage.prototype.catchUp = function () {
    if (this.loaded) this.poll(); else this.catchUpLater = true;
  };

  // Points pushed by the live feed (rows of `task_events`: iter, seq, timestamp, metric, variant, value).
  ChartPage.prototype.pushed = function (events) {
    var points = {}, time = this.settings.time, cursor = null;
    events.forEach(function (e) {
      if (e.type !== "training_stats_scalar" || e.iter === null || e.iter <= -2147483648) return;
      var byVariant = points[e.metric] = points[e.metric] || {};
      var pair = byVariant[e.variant] = byVariant[e.variant] || [[], []];
      pair[0].push(time ? e.timestamp / 1000 : e.iter);
      pair[1].push(e.value);
      if (!cursor || e.iter > cursor[0] || (e.iter === cursor[0] && e.seq > cursor[1])) cursor = [e.iter, e.seq];
    });
    if (!Object.keys(points).length) return;
    if (!this.loaded) { this.catchUpLater = true; return; }
    this.merge(points);
    this.advance(cursor);
  };

  // New points since the cursor; at most one request at a time, and one more right after it when asked meanwhile.
  ChartPage.prototype.poll = function () {
    var page = this;
    if (!this.lazy) return;
    if (this.polling) { this.again = true; return; }
    var after = this.cursor ? "&iter=" + this.cursor[0] + "&seq=" + this.cursor[1] : "";
    this.polling = json(this.url("/new") + after).then(function (answer) {
      page.merge(answer.points);
      page.advance(answer.cursor);
      if (answer.more) page.again = true;
    }).catch(function () {}).then(function () {
      page.polling = null;
      if (page.again) { page.again = false; page.poll(); }
    });
  };

  // Adds points to the charts drawn; a metric not shown yet gets a card (loaded when seen), a chart that lacks one
  // of the variants is read again.
  ChartPage.prototype.merge = function (points) {
    var touched = [];
    for (var metric in points) {
      var chart = this.charts[metric];
      if (!this.cards[metric]) {
        if (this.empty) this.empty.hidden = true;
        this.add(metric);
        continue;
      }
      if (!chart) continue;  // asked for, not drawn yet: it will read these points
      var complete = true;
      for (var variant in points[metric]) {
        var col = chart.chart.series.indexOf(variant) + 1;
        if (col < 1) { complete = false; break; }
        chart.add(col, points[metric][variant][0], points[metric][variant][1]);
      }
      if (complete) touched.push(chart);
      else { delete this.cards[metric].dataset.requested; this.want(metric); }
    }
    touched.forEach(function (c) { c.refresh(); });
  };

  // ---- the live feed (api/web/live.py through app.js): one stream per page for its task ----
  // `task` messages update the fields shown (status, name, ...), `telemetry` ones carry the new scalar points and
  // log lines; on every (re)connection the parts read what was reported while they were not listening.

  var subscribers = [];

  function live(subscriber) { subscribers.push(subscriber); }

  function connect() {
    var marker = document.querySelector("[data-live-task]"), feed = window.taskstream;
    if (!marker || !feed) return;
    var id = marker.dataset.liveTask;
    feed.onLive(function (kind, data) {
      if (data.id !== id) return;
      if (kind === "task") feed.applyTaskFields(document, data.fields || {});
      if (kind === "telemetry") subscribers.forEach(function (s) { if (s.telemetry) s.telemetry(data.events || []); });
    });
    var source = feed.connectLive("task=" + encodeURIComponent(id) + "&telemetry=1");
    if (source) source.addEventListener("open", function () {
      subscribers.forEach(function (s) { if (s.open) s.open(); });
    });
  }

  // ---- plots (shaped server-side by api/web/plots.py) ----

  function drawPlots() {
    document.querySelectorAll("[data-plot]").forEach(function (holder) {
      var plot = JSON.parse(holder.dataset.plot);
      new Chart(holder, {metric: plot.title, title: " ", series: plot.series, data: plot.data, points: plot.points},
        {smoothing: 0, log: false, time: false});
    });
  }

  // ---- console ----

  function Console(root) {
    this.root = root;
    this.list = root.querySelector("[data-console-lines]");
    this.search = root.querySelector("[data-console-search]");
    this.follow = root.querySelector("[data-console-follow]");
    this.count = root.querySelector("[data-console-count]");
    this.earlierButton = root.querySelector("[data-console-earlier]");
    this.total = Number(root.dataset.total || 0);
    this.url = "/ui/api/tasks/" + root.dataset.task + "/log";
    var self = this;
    this.search.addEventListener("input", function () { self.filter(); });
    if (this.earlierButton) this.earlierButton.addEventListener("click", function () { self.earlier(); });
    this.seen = {};
    this.list.querySelectorAll("li").forEach(function (li) {
      self.seen[li.dataset.ts + "|" + li.querySelector("pre").textContent] = true;
    });
    live({open: function () { self.newer(); }, telemetry: function (events) { self.pushed(events); }});
    if (this.follow.checked) window.scrollTo(0, document.body.scrollHeight);
  }

  Console.prototype.line = function (line) {
    var li = document.createElement("li");
    li.dataset.ts = String(line.timestamp);
    li.className = "level-" + (line.level || "info");
    var time = document.createElement("time");
    time.textContent = new Date(line.timestamp).toISOString().replace("T", " ").replace("Z", "");
    var pre = document.createElement("pre");
    pre.textContent = line.msg;
    li.appendChild(time);
    li.appendChild(pre);
    this.match(li);
    return li;
  };

  // Lines pushed by the live feed; a line already shown (same time and text) is not repeated.
  Console.prototype.pushed = function (events) {
    var self = this, added = false;
    events.forEach(function (e) {
      if (e.type !== "log") return;
      var key = e.timestamp + "|" + e.msg;
      if (self.seen[key]) return;
      self.seen[key] = true;
      self.list.appendChild(self.line(e));
      self.total++;
      added = true;
    });
    if (added) {
      this.counted();
      if (this.follow.checked) window.scrollTo(0, document.body.scrollHeight);
    }
  };

  Console.prototype.match = function (li) {
    var text = this.search.value.toLowerCase();
    li.hidden = text !== "" && li.textContent.toLowerCase().indexOf(text) < 0;
  };

  Console.prototype.filter = function () {
    var self = this;
    this.list.querySelectorAll("li").forEach(function (li) { self.match(li); });
  };

  Console.prototype.counted = function () {
    var n = this.list.children.length;
    this.count.textContent = n + " of " + Math.max(n, this.total) + " lines";
    var empty = this.root.querySelector("[data-console-empty]");
    if (empty && n) empty.hidden = true;
  };

  Console.prototype.earlier = function () {
    var first = this.list.firstElementChild, self = this;
    if (!first) return;
    json(this.url + "?before=" + first.dataset.ts).then(function (answer) {
      var fragment = document.createDocumentFragment();
      answer.lines.forEach(function (line) { fragment.appendChild(self.line(line)); });
      self.list.insertBefore(fragment, self.list.firstChild);
      self.total = answer.total;
      if (!answer.lines.length || self.list.children.length >= answer.total) self.earlierButton.hidden = true;
      self.counted();
    });
  };

  // Lines after the newest shown: asked from its timestamp minus one (a line reported later at that same
  // millisecond is not lost), those already shown at that millisecond skipped.
  Console.prototype.newer = function () {
    var self = this;
    if (this.busy) { this.again = true; return; }
    var last = this.list.lastElementChild, after = last ? Number(last.dataset.ts) - 1 : 0;
    var seen = {};
    if (last) {
      for (var li = last; li && Number(li.dataset.ts) === after + 1; li = li.previousElementSibling) {
        seen[li.querySelector("pre").textContent] = (seen[li.querySelector("pre").textContent] || 0) + 1;
      }
    }
    this.busy = json(this.url + (last ? "?after=" + after : "")).then(function (answer) {
      answer.lines.forEach(function (line) {
        if (line.timestamp === after + 1 && seen[line.msg]) { seen[line.msg]--; return; }
        var key = line.timestamp + "|" + line.msg;
        if (self.seen[key]) return;
        self.seen[key] = true;
        if (!last || line.timestamp > after) self.list.appendChild(self.line(line));
      });
      self.total = answer.total;
      self.counted();
      if (self.follow.checked) window.scrollTo(0, document.body.scrollHeight);
    }).catch(function () {}).then(function () {
      self.busy = null;
      if (self.again) { self.again = false; self.newer(); }
    });
  };

  // ---- search boxes over rows (parameters, configuration) ----

  function filters() {
    document.querySelectorAll("input[data-filter]").forEach(function (input) {
      var count = document.querySelector("[data-filter-count]");
      input.addEventListener("input", function () {
        var text = input.value.toLowerCase(), shownRows = 0, all = 0;
        document.querySelectorAll(input.dataset.filter).forEach(function (row) {
          all++;
          row.hidden = text !== "" && row.textContent.toLowerCase().indexOf(text) < 0;
          if (!row.hidden) shownRows++;
        });
        if (count) count.textContent = text ? shownRows + " of " + all + " match" : "";
      });
    });
  }

  // ---- previews of small text artifacts: the first 64 KB only ----

  var PREVIEW_BYTES = 65536;

  function previews() {
    document.querySelectorAll("[data-preview]").forEach(function (pre) {
      fetch(pre.dataset.preview, {credentials: "same-origin"}).then(function (r) {
        if (!r.ok || !r.body) throw new Error(String(r.status));
        var reader = r.body.getReader(), chunks = [], size = 0;
        function next() {
          return reader.read().then(function (step) {
            if (step.done || size >= PREVIEW_BYTES) { reader.cancel(); return; }
            chunks.push(step.value);
            size += step.value.length;
            return next();
          });
        }
        return next().then(function () {
          var bytes = new Uint8Array(Math.min(size, PREVIEW_BYTES)), at = 0;
          chunks.forEach(function (c) {
            var part = c.subarray(0, Math.max(0, bytes.length - at));
            bytes.set(part, at);
            at += part.length;
          });
          pre.textContent = new TextDecoder().decode(bytes) + (size > PREVIEW_BYTES ? "\n…" : "");
        });
      }).catch(function () { pre.textContent = "No preview (the file could not be read)."; });
    });
  }

  function start() {
    if (!window.uPlot) return;
    document.querySelectorAll("[data-charts]").forEach(function (root) { new ChartPage(root); });
    drawPlots();
  }

  function onlyDifferences() {
    var box = document.querySelector("[data-only-differences]");
    if (!box) return;
    box.addEventListener("change", function () {
      document.querySelectorAll(".compare-table tr.same").forEach(function (row) {
        row.classList.toggle("hidden-same", box.checked);
      });
    });
  }

  function confirmations() {
    document.querySelectorAll(".task-actions form").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var button = event.submitter;
        if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) event.preventDefault();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    confirmations();
    onlyDifferences();
    filters();
    previews();
    var log = document.querySelector("[data-console]");
    if (log) new Console(log);
    start();
    connect();
  });
})();
