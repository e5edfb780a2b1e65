// The build page's live view: it polls the console's log route (/ui/builds/{id}/log?after=N,
// on the session cookie) from where the rendered log ends, appends the new lines with a marker
// before each phase, updates the status, the current phase and the phases table, and reloads
// the page once the build ended and its log is all shown (for the final phases, artifacts and
// reports). The elements it relies on are listed at the top of templates/build.html.
(function () {
  "use strict";
  var root = document.getElementById("build");
  if (!root || !window.fetch || root.getAttribute("data-done") === "true") { return; }
  var id = root.getAttribute("data-id");
  var next = parseInt(root.getAttribute("data-log-next") || "0", 10);
  var phase = root.getAttribute("data-log-phase") || "";
  var live = document.getElementById("live");
  var say = function (t) { if (live) { live.textContent = t; } };
  var pre = document.getElementById("log");
  var delay = 1000;
  // Every poll is a use of the session (it renews the console's idle expiry), so an unattended
  // page stops following after followFor: a reload is the user's, and follows again.
  var followFor = 30 * 60 * 1000;
  var started = Date.now();
  var badge = function (el, status) {
    el.textContent = status;
    el.className = "badge " + status.toLowerCase();
  };
  var append = function (lines) {
    if (!pre || !lines.length) { return; }
    var empty = document.getElementById("log-empty");
    if (empty) { empty.parentNode.removeChild(empty); }
    var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    lines.forEach(function (l) {
      if (l.phase && l.phase !== phase) {
        var m = document.createElement("span");
        m.className = "marker";
        m.id = "log-" + l.n;
        m.textContent = "▶ " + l.phase;
        pre.appendChild(m);
        phase = l.phase;
      }
      var line = document.createElement("span");
      line.className = "line";
      var n = document.createElement("span");
      n.className = "n";
      n.textContent = String(l.n);
      line.appendChild(n);
      line.appendChild(document.createTextNode(l.text));
      pre.appendChild(line);
    });
    if (atEnd) { pre.scrollTop = pre.scrollHeight; }
  };
  // phases brings the phases table up to date: a row per phase, in order, its cells' text as
  // the server rendered them (a running phase's duration is as far as the poll).
  var phases = function (list) {
    var body = document.querySelector("table.phases tbody");
    if (!body || !list) { return; }
    list.forEach(function (p) {
      var row = null;
      Array.prototype.forEach.call(body.querySelectorAll("tr.phase"), function (r) {
        if (r.getAttribute("data-phase") === p.name) { row = r; }
      });
      if (!row) {
        row = document.createElement("tr");
        row.className = "phase";
        row.setAttribute("data-phase", p.name);
        for (var i = 0; i < 5; i++) { row.appendChild(document.createElement("td")); }
        body.appendChild(row);
      }
      var cells = row.querySelectorAll("td");
      cells[0].textContent = p.name;
      cells[1].textContent = "";
      if (p.status || p.running) {
        var b = document.createElement("span");
        b.className = "badge " + (p.status ? p.status.toLowerCase() : "in_progress");
        b.textContent = p.status || "running";
        cells[1].appendChild(b);
      }
      cells[2].textContent = p.started || "";
      cells[3].textContent = p.duration || "";
      cells[4].textContent = p.message || "";
    });
  };
  var poll = function () {
    fetch("/ui/builds/" + encodeURIComponent(id).replace(/%3A/gi, ":") + "/log?after=" + next, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (resp) {
        if (!resp.ok) { throw new Error("the server answered " + resp.status); }
        return resp.json();
      })
      .then(function (a) {
        append(a.lines || []);
        if (typeof a.next === "number" && a.next > next) { next = a.next; }
        var st = document.getElementById("build-status");
        if (st && a.status) { badge(st, a.status); }
        var ph = document.getElementById("build-phase");
        if (ph && a.phase) { ph.textContent = a.phase; }
        phases(a.phases);
        var done = a.status !== "QUEUED" && a.status !== "IN_PROGRESS";
        if (done) {
          var stop = document.getElementById("stop-form");
          if (stop) { stop.parentNode.removeChild(stop); }
        }
        if (done && (a.ended || !a.available)) {
          say("The build ended: loading its results…");
          window.location.reload();
          return;
        }
        if (Date.now() - started > followFor) {
          say("Live updates stopped after 30 minutes: reload the page to follow the build again.");
          return;
        }
        say("Live: the page follows the build.");
        delay = (a.lines && a.lines.length) ? 500 : 2000;
        window.setTimeout(poll, delay);
      })
      .catch(function (e) {
        if (Date.now() - started > followFor) {
          say("Live updates stopped: reload the page to follow the build again.");
          return;
        }
        say("Live updates paused (" + e.message + "): retrying.");
        window.setTimeout(poll, 5000);
      });
  };
  poll();
})();
