// "Why is this code like this?": matches a path against the governs globs in
// why.json ({governs: [{repo, glob, id, title, url, status, date}], intents:
// [{repo, id, title, url, pr, date, paths}]}) and lists the decisions that
// govern it, newest first, then the merged intents (pull requests) that
// touched it or a file inside it, in the order why.json gives: most recently
// merged first. Globs follow doublestar rules:
// "*" and "?" stay inside one path segment, "**" spans any number of
// segments (zero included), "[abc]", "[!a-z]" and "{a,b}" work as in a shell.
(function () {
  "use strict";
  var form = document.querySelector("[data-why]");
  if (!form) return;
  var input = form.querySelector("#why-path");
  var repoSel = form.querySelector("#why-repo");
  var out = document.querySelector("[data-why-results]");
  var meta = document.querySelector('meta[name="backstory-base"]');
  var base = meta ? meta.content : "/";
  if (base.charAt(base.length - 1) !== "/") base += "/";
  var entries = [], intents = [], timer = 0;
  var known = ["accepted", "proposed", "superseded", "deprecated", "rejected", "draft", "unknown"];

  function esc(c) { return /[.*+?^${}()|[\]\\\/]/.test(c) ? "\\" + c : c; }

  // globSource converts one glob (or one segment of it) to a RegExp source.
  function globSource(g) {
    var re = "", depth = 0, i = 0;
    while (i < g.length) {
      var c = g.charAt(i);
      if (c === "*") {
        if (g.charAt(i + 1) === "*") {
          var atStart = i === 0 || g.charAt(i - 1) === "/";
          var next = g.charAt(i + 2);
          if (atStart && next === "/") { re += "(?:.*/)?"; i += 3; continue; }
          if (atStart && next === "") {
            // "a/**" also matches "a" itself.
            if (re.slice(-2) === "\\/") re = re.slice(0, -2) + "(?:/.*)?"; else re += ".*";
            i += 2; continue;
          }
          re += "[^/]*"; i += 2; continue;
        }
        re += "[^/]*"; i++; continue;
      }
      if (c === "?") { re += "[^/]"; i++; continue; }
      if (c === "\\" && i + 1 < g.length) { re += esc(g.charAt(i + 1)); i += 2; continue; }
      if (c === "[") {
        var j = g.indexOf("]", i + 2);
        if (j > 0) {
          var body = g.slice(i + 1, j).replace(/\\/g, "\\\\");
          if (body.charAt(0) === "!") body = "^" + body.slice(1);
          re += "[" + body + "]"; i = j + 1; continue;
        }
      }
      if (c === "{") { depth++; re += "(?:"; i++; continue; }
      if (c === "}" && depth > 0) { depth--; re += ")"; i++; continue; }
      if (c === "," && depth > 0) { re += "|"; i++; continue; }
      re += esc(c); i++;
    }
    while (depth-- > 0) re += ")";
    return re;
  }

  function compile(glob) {
    var g = glob.replace(/^\.?\//, "");
    try {
      var c = { segs: g.split("/").map(function (s) { return s === "**" ? null : new RegExp("^" + globSource(s) + "$"); }) };
      // Alternatives that span folders ("{a/b,c}") need the whole pattern;
      // otherwise segments are matched one by one, which stays fast
      // whatever the glob (records are untrusted input).
      if (/\{[^}]*\//.test(g)) c.whole = new RegExp("^" + globSource(g) + "$");
      return c;
    } catch (e) { return null; }
  }

  // matches reports whether the path's parts match the glob's segments,
  // filling a table from the end: "**" matches zero or more parts.
  function matches(c, parts) {
    if (c.whole) return c.whole.test(parts.join("/"));
    var n = c.segs.length, m = parts.length, next = [], cur, i, j;
    for (j = 0; j <= m; j++) next[j] = j === m;
    for (i = n - 1; i >= 0; i--) {
      cur = [];
      for (j = m; j >= 0; j--) {
        if (c.segs[i] === null) cur[j] = next[j] || (j < m && cur[j + 1]);
        else cur[j] = j < m && c.segs[i].test(parts[j]) && next[j + 1];
      }
      next = cur;
    }
    return next[0];
  }

  // inside reports whether the glob could match something under the folder.
  function inside(c, parts) {
    for (var i = 0; i < parts.length; i++) {
      if (i >= c.segs.length) return false;
      if (c.segs[i] === null) return true;
      if (!c.segs[i].test(parts[i])) return false;
    }
    return c.segs.length > parts.length;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  function run() {
    var path = input.value.trim().replace(/^\.?\/+/, "").replace(/\/+$/, "");
    var repo = repoSel.value;
    var u = new URL(location.href);
    if (path) u.searchParams.set("path", path); else u.searchParams.delete("path");
    if (repo) u.searchParams.set("repo", repo); else u.searchParams.delete("repo");
    history.replaceState(null, "", u.pathname + u.search);
    out.textContent = "";
    if (!path) return;
    var parts = path.split("/");
    var byURL = {}, found = [];
    entries.forEach(function (e) {
      if (!e.c || (repo && e.repo !== repo)) return;
      var how = matches(e.c, parts) ? "match" : (inside(e.c, parts) ? "inside" : "");
      if (!how) return;
      var key = e.url || e.repo + ":" + e.id;
      var f = byURL[key];
      if (!f) { f = byURL[key] = { e: e, globs: [], direct: false }; found.push(f); }
      f.globs.push(e.glob);
      if (how === "match") f.direct = true;
    });
    found.sort(function (a, b) {
      return (b.direct - a.direct) || (b.e.date || "").localeCompare(a.e.date || "");
    });
    var h = el("h2", "", found.length ? (found.length === 1 ? "1 decision governs " : found.length + " decisions govern ") : "No decision governs ");
    h.appendChild(el("code", "", path));
    out.appendChild(h);
    var changed = intents.filter(function (e) {
      if (repo && e.repo !== repo) return false;
      return (e.paths || []).some(function (p) { return p === path || p.lastIndexOf(path + "/", 0) === 0; });
    });
    if (!found.length) {
      out.appendChild(el("p", "muted", changed.length ? "No decision says why this path is the way it is; the pull requests below say why it changed." :
        "Nothing on record says why this path is the way it is. That may be worth writing down."));
    } else {
      listDecisions(found);
    }
    if (changed.length) listIntents(changed, path);
  }

  function link(text, url, cls) {
    var a = el(url ? "a" : "span", cls, text);
    if (url) a.href = url.charAt(0) === "/" ? base + url.slice(1) : url;
    return a;
  }

  // listIntents shows the merged pull requests that changed the path.
  function listIntents(list, path) {
    var h = el("h2", "", list.length === 1 ? "1 merged pull request changed " : list.length + " merged pull requests changed ");
    h.appendChild(el("code", "", path));
    out.appendChild(h);
    out.appendChild(el("p", "small muted", "Most recently merged first."));
    var ol = el("ol", "rows why-list why-intents");
    list.forEach(function (e) {
      var li = el("li", "row");
      li.appendChild(link(e.title, e.url, "row-title"));
      var m = el("span", "row-meta");
      m.appendChild(el("span", "kind", "intent"));
      m.appendChild(document.createTextNode(" "));
      m.appendChild(el("span", "rid", e.id));
      m.appendChild(document.createTextNode(" "));
      m.appendChild(el("span", "rrepo", e.repo));
      m.appendChild(document.createTextNode(" "));
      m.appendChild(e.date ? el("time", "rdate", e.date) : el("span", "rdate undated", "undated"));
      if (e.pr && /^https?:\/\//i.test(e.pr)) {
        m.appendChild(document.createTextNode(" "));
        m.appendChild(link("pull request", e.pr, ""));
      }
      li.appendChild(m);
      ol.appendChild(li);
    });
    out.appendChild(ol);
  }

  function listDecisions(found) {
    var ol = el("ol", "rows why-list");
    found.forEach(function (f) {
      var e = f.e, li = el("li", "row");
      var a = el(e.url ? "a" : "span", "row-title", e.title);
      if (e.url) a.href = e.url.charAt(0) === "/" ? base + e.url.slice(1) : e.url;
      li.appendChild(a);
      var m = el("span", "row-meta");
      var st = known.indexOf(e.status) >= 0 ? e.status : "unknown";
      m.appendChild(el("span", "badge s-" + st, st.charAt(0).toUpperCase() + st.slice(1)));
      m.appendChild(document.createTextNode(" "));
      m.appendChild(el("span", "rid", e.id));
      m.appendChild(document.createTextNode(" "));
      m.appendChild(el("span", "rrepo", e.repo));
      m.appendChild(document.createTextNode(" "));
      m.appendChild(e.date ? el("time", "rdate", e.date) : el("span", "rdate undated", "undated"));
      li.appendChild(m);
      var g = el("p", "small muted", f.direct ? "through " : "governs files inside it, through ");
      f.globs.forEach(function (x, i) { if (i) g.appendChild(document.createTextNode(", ")); g.appendChild(el("code", "", x)); });
      li.appendChild(g);
      ol.appendChild(li);
    });
    out.appendChild(ol);
  }

  var meta2 = new URLSearchParams(location.search);
  fetch(base + "why.json")
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (data) {
      data = data || {};
      entries = Array.isArray(data) ? data : (data.governs || []);
      intents = data.intents || [];
      var repos = {};
      entries.forEach(function (e) { e.c = compile(e.glob || ""); repos[e.repo] = true; });
      intents.forEach(function (e) { repos[e.repo] = true; });
      Object.keys(repos).sort().forEach(function (r) {
        var o = document.createElement("option"); o.value = r; o.textContent = r; repoSel.appendChild(o);
      });
      if (Object.keys(repos).length < 2) repoSel.parentNode.hidden = true;
      input.value = meta2.get("path") || "";
      repoSel.value = meta2.get("repo") || "";
      form.hidden = false;
      input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 60); });
      repoSel.addEventListener("change", run);
      form.addEventListener("submit", function (e) { e.preventDefault(); run(); });
      run();
    })
    .catch(function () { out.textContent = "The path index could not be loaded; the table below lists every governed path."; });
})();
