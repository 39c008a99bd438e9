// Offline search over search.json, loaded on first use. Each entry is
// {t: title, u: url, i: id, r: repo, s: status, k: kind, d: date, g: [tags], x: excerpt}.
// Every query token must match somewhere; matches in the id, title and tags
// weigh more than matches in the text. Results update as you type.
(function () {
  "use strict";
  var form = document.querySelector("[data-search]");
  if (!form) return;
  var input = form.querySelector("input[name=q]");
  var list = document.querySelector("[data-search-results]");
  var status = document.querySelector("[data-search-status]");
  var meta = document.querySelector('meta[name="backstory-base"]');
  var base = meta ? meta.content : "/";
  if (base.charAt(base.length - 1) !== "/") base += "/";
  var LIMIT = 50;
  var index = null, loading = null, timer = 0;

  function url(u) { return u.charAt(0) === "/" ? base + u.slice(1) : u; }

  function load() {
    if (!loading) {
      status.textContent = "Loading the index…";
      loading = fetch(base + "search.json")
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) {
          index = data.map(function (e) {
            return {
              e: e,
              id: (e.i || "").toLowerCase(),
              title: (e.t || "").toLowerCase(),
              tags: (e.g || []).map(function (g) { return g.toLowerCase(); }),
              repo: (e.r || "").toLowerCase(),
              text: (e.x || "").toLowerCase()
            };
          });
          return index;
        })
        .catch(function () { status.textContent = "The search index could not be loaded."; loading = null; });
    }
    return loading;
  }

  function tokens(q) {
    return q.toLowerCase().split(/[\s,;]+/).filter(Boolean);
  }

  // wordStart reports whether tok starts a word in s.
  function wordStart(s, tok) {
    var i = s.indexOf(tok);
    while (i >= 0) {
      if (i === 0 || /[^a-z0-9]/.test(s.charAt(i - 1))) return true;
      i = s.indexOf(tok, i + 1);
    }
    return false;
  }

  function score(doc, toks, phrase) {
    var total = 0;
    for (var n = 0; n < toks.length; n++) {
      var t = toks[n], s = 0;
      var bare = t.replace(/^#/, "");
      if (doc.id === bare || doc.id.replace(/-0*/, "-") === bare.replace(/-0*/, "-")) s += 100;
      else if (doc.id.indexOf(bare) >= 0) s += 30;
      if (wordStart(doc.title, t)) s += 12; else if (doc.title.indexOf(t) >= 0) s += 5;
      for (var g = 0; g < doc.tags.length; g++) {
        if (doc.tags[g] === t) { s += 10; break; }
        if (doc.tags[g].indexOf(t) === 0) { s += 5; break; }
      }
      if (doc.repo.indexOf(t) >= 0) s += 3;
      if (wordStart(doc.text, t)) s += 2; else if (doc.text.indexOf(t) >= 0) s += 1;
      if (s === 0) return 0;
      total += s;
    }
    if (toks.length > 1 && doc.title.indexOf(phrase) >= 0) total += 20;
    return total;
  }

  function snippet(text, toks) {
    if (!text) return "";
    var low = text.toLowerCase(), at = -1;
    for (var i = 0; i < toks.length && at < 0; i++) at = low.indexOf(toks[i]);
    var start = Math.max(0, at - 60);
    var s = text.slice(start, start + 200);
    return (start > 0 ? "…" : "") + s + (start + 200 < text.length ? "…" : "");
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  var known = ["accepted", "proposed", "superseded", "deprecated", "rejected", "draft", "unknown"];

  function render(q) {
    var toks = tokens(q);
    list.textContent = "";
    if (!toks.length) { status.textContent = ""; return; }
    var phrase = q.toLowerCase().trim();
    var hits = [];
    for (var i = 0; i < index.length; i++) {
      var s = score(index[i], toks, phrase);
      if (s > 0) hits.push({ s: s, e: index[i].e });
    }
    hits.sort(function (a, b) { return b.s - a.s || (b.e.d || "").localeCompare(a.e.d || ""); });
    status.textContent = hits.length === 0 ? "No records match “" + q.trim() + "”."
      : hits.length + (hits.length === 1 ? " record matches" : " records match") + (hits.length > LIMIT ? "; showing the best " + LIMIT + "." : ".");
    var frag = document.createDocumentFragment();
    hits.slice(0, LIMIT).forEach(function (h) {
      var e = h.e;
      var li = el("li", "result");
      var a = el("a", "result-title", e.t);
      a.href = url(e.u);
      li.appendChild(a);
      var m = el("div", "row-meta");
      var st = known.indexOf(e.s) >= 0 ? e.s : "unknown";
      m.appendChild(el("span", "badge s-" + st, st.charAt(0).toUpperCase() + st.slice(1)));
      if (e.k && e.k !== "decision") { m.appendChild(document.createTextNode(" ")); m.appendChild(el("span", "kind", e.k)); }
      if (e.i) { m.appendChild(document.createTextNode(" ")); m.appendChild(el("span", "rid", e.i)); }
      if (e.r) { m.appendChild(document.createTextNode(" ")); m.appendChild(el("span", "rrepo", e.r)); }
      m.appendChild(document.createTextNode(" "));
      m.appendChild(e.d ? el("time", "rdate", e.d) : el("span", "rdate undated", "undated"));
      li.appendChild(m);
      var sn = snippet(e.x, toks);
      if (sn) li.appendChild(el("p", "result-text", sn));
      frag.appendChild(li);
    });
    list.appendChild(frag);
  }

  function run() {
    var q = input.value;
    var u = new URL(location.href);
    if (q) u.searchParams.set("q", q); else u.searchParams.delete("q");
    history.replaceState(null, "", u.pathname + u.search);
    if (!q.trim()) { render(""); return; }
    load().then(function () { if (index) render(input.value); });
  }

  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 80); });
  input.addEventListener("focus", load, { once: true });
  form.addEventListener("submit", function (e) { e.preventDefault(); run(); });

  // Arrow keys move between the search box and the results.
  function links() { return Array.prototype.slice.call(list.querySelectorAll("a")); }
  input.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown") { var l = links(); if (l.length) { e.preventDefault(); l[0].focus(); } }
  });
  list.addEventListener("keydown", function (e) {
    var l = links(), i = l.indexOf(document.activeElement);
    if (i < 0) return;
    if (e.key === "ArrowDown" && i + 1 < l.length) { e.preventDefault(); l[i + 1].focus(); }
    else if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? l[i - 1] : input).focus(); }
    else if (e.key === "Escape") { e.preventDefault(); input.focus(); }
  });

  var q0 = new URLSearchParams(location.search).get("q");
  if (q0) { input.value = q0; run(); } else { input.focus(); }
})();
