// Filters a list of records by status, tag and repository. The rows carry
// data-status, data-repo and data-tags ("a|b"); the options are built from
// them, so the page lists everything when this script does not run. The
// choice is kept in the URL query (?status=&tag=&repo=) so it can be shared.
(function () {
  "use strict";
  var root = document.querySelector("[data-filterable]");
  if (!root) return;
  var form = root.querySelector("[data-filters]");
  var rows = Array.prototype.slice.call(root.querySelectorAll("[data-status]"));
  var groups = Array.prototype.slice.call(root.querySelectorAll("[data-group]"));
  var count = form.querySelector(".filter-count");
  var order = ["accepted", "proposed", "draft", "superseded", "deprecated", "rejected", "unknown"];
  var params = { status: "status", tags: "tag", repo: "repo" };

  var values = { status: {}, tags: {}, repo: {} };
  var parsed = rows.map(function (li) {
    var tags = li.getAttribute("data-tags");
    var r = { el: li, status: li.getAttribute("data-status"), repo: li.getAttribute("data-repo"), tags: tags ? tags.split("|") : [] };
    values.status[r.status] = (values.status[r.status] || 0) + 1;
    values.repo[r.repo] = (values.repo[r.repo] || 0) + 1;
    r.tags.forEach(function (t) { values.tags[t] = (values.tags[t] || 0) + 1; });
    return r;
  });

  var selects = {};
  Array.prototype.forEach.call(form.querySelectorAll("select[data-key]"), function (sel) {
    var key = sel.getAttribute("data-key");
    selects[key] = sel;
    var names = Object.keys(values[key]);
    if (key === "status") {
      names.sort(function (a, b) { return order.indexOf(a) - order.indexOf(b); });
    } else {
      names.sort(function (a, b) { return a.localeCompare(b); });
    }
    // A select with a single choice filters nothing: leave it out.
    if (names.length < 2 && key !== "status") { sel.parentNode.hidden = true; }
    names.forEach(function (n) {
      var o = document.createElement("option");
      o.value = n;
      o.textContent = (key === "status" ? n.charAt(0).toUpperCase() + n.slice(1) : n) + " (" + values[key][n] + ")";
      sel.appendChild(o);
    });
  });

  function fromURL() {
    var q = new URLSearchParams(location.search);
    Object.keys(selects).forEach(function (key) {
      var v = q.get(params[key]) || "";
      var sel = selects[key];
      sel.value = v;
      if (sel.value !== v) sel.value = "";
    });
  }

  function toURL() {
    var q = new URLSearchParams(location.search);
    Object.keys(selects).forEach(function (key) {
      if (selects[key].value) q.set(params[key], selects[key].value); else q.delete(params[key]);
    });
    var s = q.toString();
    history.replaceState(null, "", location.pathname + (s ? "?" + s : "") + location.hash);
  }

  function apply() {
    var st = selects.status ? selects.status.value : "";
    var tg = selects.tags ? selects.tags.value : "";
    var rp = selects.repo ? selects.repo.value : "";
    var shown = 0;
    parsed.forEach(function (r) {
      var ok = (!st || r.status === st) && (!rp || r.repo === rp) && (!tg || r.tags.indexOf(tg) >= 0);
      if (r.el.hidden === ok) r.el.hidden = !ok;
      if (ok) shown++;
    });
    groups.forEach(function (g) {
      var n = g.querySelectorAll("[data-status]:not([hidden])").length;
      g.hidden = n === 0;
      var c = g.querySelector(".count");
      if (c) c.textContent = n;
    });
    var filtered = st || tg || rp;
    count.textContent = filtered ? "Showing " + shown + " of " + parsed.length : parsed.length + " records";
  }

  form.addEventListener("change", function () { toURL(); apply(); });
  form.addEventListener("reset", function () {
    setTimeout(function () { toURL(); apply(); }, 0);
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  window.addEventListener("popstate", function () { fromURL(); apply(); });
  fromURL();
  form.hidden = false;
  apply();
})();
