// The deployment page's live view: it opens the console's watch of the deployment
// (/ui/deployments/{id}/watch, a websocket on the session cookie) from where the rendered page
// ends, updates the hosts' event cells and status, and appends output lines. The elements it
// relies on are listed at the top of templates/deployment.html.
(function () {
  "use strict";
  var root = document.getElementById("deployment");
  if (!root || !window.WebSocket) { return; }
  var live = document.getElementById("live");
  var say = function (t) { if (live) { live.textContent = t; } };
  var esc = function (s) { return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, "\\$&"); };
  var badge = function (el, status) {
    el.textContent = status;
    el.className = el.className.split(" ").filter(function (c) { return c === "badge" || c === "state"; }).concat([status.toLowerCase()]).join(" ");
  };
  var took = function (ev) {
    if (!ev.start) { return ""; }
    if (!ev.end) { return "running"; }
    var ms = new Date(ev.end) - new Date(ev.start);
    return ms < 1000 ? ms + "ms" : (ms / 1000).toFixed(3).replace(/\.?0+$/, "") + "s";
  };
  // when is the page's time format (the templates' "when"): 2006-01-02 15:04:05Z.
  var when = function (t) { return new Date(t).toISOString().slice(0, 19).replace("T", " ") + "Z"; };
  var ended = function (d) {
    var en = document.getElementById("deployment-ended");
    if (en && d.end_time) { en.textContent = when(d.end_time); }
    var stop = document.getElementById("stop-form");
    if (stop) { stop.parentNode.removeChild(stop); }
  };
  var showDeployment = function (d) {
    var st = document.getElementById("deployment-status");
    if (st) { badge(st, d.status); }
    if (d.end_time) { ended(d); }
    var ok = 0;
    (d.targets || []).forEach(function (t) {
      if (t.status === "succeeded") { ok++; }
      var row = document.querySelector('tr.host[data-host="' + esc(t.host) + '"]');
      if (!row) { return; }
      var hs = row.querySelector("td.host-status .badge");
      if (hs) { badge(hs, t.status); }
      var first = {};
      (t.events || []).forEach(function (ev) {
        var cell = row.querySelector('td.event[data-event="' + esc(ev.name) + '"]');
        if (!cell) { return; }
        if (!first[ev.name]) { first[ev.name] = ev.start; }
        badge(cell.querySelector(".state"), ev.status);
        cell.querySelector(".took").textContent = took({ start: first[ev.name], end: ev.end });
      });
    });
    var pr = document.getElementById("deployment-progress");
    if (pr) {
      var min = parseInt(pr.getAttribute("data-min") || "0", 10);
      pr.textContent = ok + " of " + (d.targets || []).length + " hosts succeeded" + (min ? " (minimum healthy: " + min + ")" : "");
    }
  };
  var appendLines = function (host, lines) {
    var pre = document.querySelector('pre.output[data-host="' + esc(host) + '"]');
    if (!pre) { return; }
    lines.forEach(function (l) {
      var span = document.createElement("span");
      span.className = "line " + (l.stream || "");
      span.textContent = l.event + " " + l.script + ": " + l.text;
      pre.appendChild(span);
      pre.appendChild(document.createTextNode("\n"));
    });
    pre.scrollTop = pre.scrollHeight;
  };
  var proto = location.protocol === "https:" ? "wss://" : "ws://";
  var ws = new WebSocket(proto + location.host + "/ui/deployments/" + encodeURIComponent(root.getAttribute("data-id")) + "/watch?" + root.getAttribute("data-watch"));
  ws.onopen = function () { say("Live: this page updates as the deployment runs."); };
  ws.onmessage = function (e) {
    var m;
    try { m = JSON.parse(e.data); } catch (err) { return; }
    if (m.deployment) { showDeployment(m.deployment); }
    if (m.host && m.lines) { appendLines(m.host, m.lines); }
  };
  ws.onclose = function (e) {
    say(e.code === 1000 ? "This deployment has ended (" + (e.reason || "done") + "): reload for the final page." : "The live view stopped: reload the page.");
  };
}());
