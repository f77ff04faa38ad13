// taskstream web UI: small, framework-free. Local times, row selection and bulk actions, and live updates pushed by
// Server-Sent Events (/ui/live) from the server's one log follower. Pages work without it (plain forms and links).
"use strict";
(function () {
  const pad = (n) => String(n).padStart(2, "0");
  function localTime(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return iso || "";
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  function formatTimes(root) {
    root.querySelectorAll("time[datetime]").forEach((t) => {
      const iso = t.getAttribute("datetime");
      if (iso) { t.textContent = localTime(iso); t.title = iso; }
    });
  }

  function selection() {
    const form = document.getElementById("bulk");
    if (!form) return;
    const boxes = () => Array.from(form.querySelectorAll('input[name="ids"]'));
    const all = document.getElementById("select-all");
    const count = document.getElementById("selected-count");
    const compare = document.getElementById("compare-link");
    function update() {
      const chosen = boxes().filter((b) => b.checked);
      count.textContent = `${chosen.length} selected`;
      form.querySelectorAll("[data-needs-selection]").forEach((el) => {
        if (el.tagName === "A") el.setAttribute("aria-disabled", chosen.length ? "false" : "true");
        else el.disabled = !chosen.length;
      });
      if (compare) compare.href = "/compare?" + chosen.map((b) => "ids=" + encodeURIComponent(b.value)).join("&");
      if (all) all.checked = chosen.length > 0 && chosen.length === boxes().length;
    }
    form.addEventListener("change", update);
    if (all) all.addEventListener("change", () => { boxes().forEach((b) => { b.checked = all.checked; }); update(); });
    form.addEventListener("submit", (event) => {
      const button = event.submitter;
      if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) event.preventDefault();
    });
    update();
  }

  // Live updates. The stream resumes after the last message seen (the browser sends Last-Event-ID by itself; the
  // first connection starts from the position the page was rendered at). `reset` means the page must reload.
  const handlers = [];
  function onLive(handler) { handlers.push(handler); }
  function connectLive(query) {
    const marker = document.querySelector("[data-live-after]");
    if (!marker || !window.EventSource) return null;
    const after = marker.dataset.liveAfter;
    const state = document.getElementById("live-state");
    const url = "/ui/live?" + (query || "") + (after ? (query ? "&" : "") + "after=" + encodeURIComponent(after) : "");
    const source = new EventSource(url);
    const dispatch = (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      handlers.forEach((h) => h(event.type, data, event.lastEventId));
    };
    ["task", "queue", "project", "model", "telemetry"].forEach((kind) => source.addEventListener(kind, dispatch));
    source.addEventListener("reset", () => { source.close(); window.location.reload(); });
    source.onopen = () => { if (state) { state.textContent = "live"; state.classList.add("on"); } };
    source.onerror = () => { if (state) { state.textContent = "reconnecting…"; state.classList.remove("on"); } };
    window.taskstreamLive = source;
    return source;
  }

  function statusCell(cell, status) {
    cell.className = "status status-" + status;
    cell.textContent = status.replace(/_/g, " ");
  }
  function applyTaskFields(root, fields) {
    Object.entries(fields).forEach(([name, value]) => {
      root.querySelectorAll(`[data-field="${name}"]`).forEach((cell) => {
        if (name === "status") statusCell(cell, String(value));
        else if (cell.tagName === "TIME") { cell.setAttribute("datetime", value || ""); cell.textContent = value ? localTime(value) : ""; }
        else if (name === "tags") { cell.textContent = ""; (value || []).forEach((t) => { const s = document.createElement("span"); s.className = "tag"; s.textContent = t; cell.append(s, " "); }); }
        else if (name === "type") cell.textContent = String(value || "").replace(/_/g, " ");
        else cell.textContent = value === null || value === undefined ? "" : String(value);
      });
    });
  }

  function tasksTable() {
    const table = document.getElementById("tasks-table");
    const page = document.querySelector('[data-live-page="tasks"]');
    if (!page) return;
    const note = document.getElementById("live-note");
    onLive((kind, data) => {
      if (kind !== "task") return;
      const row = table && table.querySelector(`tr[data-task="${CSS.escape(data.id)}"]`);
      if (row) {
        applyTaskFields(row, data.fields || {});
        row.classList.remove("changed"); void row.offsetWidth; row.classList.add("changed");
        row.dataset.liveUpdated = String(Date.now());
      } else if (data.type === "TaskCreated" && note) {
        note.hidden = false;
      }
      if (row && data.type === "TaskDeleted") {
        row.classList.add("deleted");
        row.querySelectorAll("input").forEach((input) => { input.disabled = true; });
      }
    });
    connectLive("");
  }

  function queuesPage() {
    if (!document.querySelector('[data-live-page="queues"]')) return;
    let timer = null;
    onLive((kind) => {
      if (kind !== "queue") return;
      if (!timer) timer = setTimeout(() => window.location.reload(), 500);  // a queue changed: show it
    });
    connectLive("");
  }

  window.taskstream = { localTime, formatTimes, onLive, connectLive, applyTaskFields };
  document.addEventListener("DOMContentLoaded", () => {
    formatTimes(document);
    selection();
    tasksTable();
    queuesPage();
  });
})();
