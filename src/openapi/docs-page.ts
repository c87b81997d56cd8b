/**
 * `/api/docs`: a self-contained interactive API reference. No CDN and nothing fetched at run time
 * except this service's own `/api/openapi.json` and the requests the user tries. The page lists the
 * operations grouped by tag; each one can be opened to fill in its parameters and body and send it
 * (with Basic credentials or a personal access token typed into the page, or the browser session).
 *
 * The inline script and style are allowed by their SHA-256 hashes in the Content-Security-Policy.
 */

const STYLE = `
:root { --fg:#1f2933; --muted:#616e7c; --line:#d9e2ec; --bg:#f5f7fa; --get:#2680c2; --post:#3ebd93; --put:#de911d; --patch:#9446ed; --delete:#e12d39; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif; color:var(--fg); background:var(--bg); }
header { position:sticky; top:0; z-index:2; background:#102a43; color:#fff; padding:10px 16px; display:flex; flex-wrap:wrap; gap:8px; align-items:center; }
header h1 { font-size:16px; margin:0 12px 0 0; font-weight:600; }
header input, header select { padding:4px 6px; border-radius:4px; border:1px solid #486581; background:#f0f4f8; color:#102a43; }
header .grow { flex:1; min-width:160px; }
main { max-width:1100px; margin:0 auto; padding:16px; }
.status { color:var(--muted); margin:8px 0; }
.tag { margin:18px 0 8px; font-size:15px; font-weight:600; border-bottom:1px solid var(--line); padding-bottom:4px; }
details.op { background:#fff; border:1px solid var(--line); border-radius:6px; margin:6px 0; }
details.op > summary { cursor:pointer; padding:8px 10px; display:flex; gap:10px; align-items:center; list-style:none; }
details.op > summary::-webkit-details-marker { display:none; }
.method { font:600 12px ui-monospace,monospace; color:#fff; border-radius:4px; padding:2px 0; width:64px; text-align:center; text-transform:uppercase; }
.m-get{background:var(--get)} .m-post{background:var(--post)} .m-put{background:var(--put)} .m-patch{background:var(--patch)} .m-delete{background:var(--delete)}
.path { font:13px ui-monospace,monospace; }
.summary { color:var(--muted); }
.body { padding:4px 12px 12px; border-top:1px solid var(--line); }
table { border-collapse:collapse; width:100%; margin:6px 0; }
td, th { text-align:left; vertical-align:top; padding:4px 6px; border-bottom:1px solid var(--line); }
th { font-weight:600; color:var(--muted); font-size:12px; }
td input, td textarea { width:100%; padding:4px; font:12px ui-monospace,monospace; }
textarea.json { width:100%; min-height:120px; font:12px ui-monospace,monospace; padding:6px; }
button { padding:5px 14px; border-radius:4px; border:1px solid #334e68; background:#334e68; color:#fff; cursor:pointer; }
button.secondary { background:#fff; color:#334e68; }
pre { background:#102a43; color:#d9e2ec; padding:8px; border-radius:4px; overflow:auto; max-height:420px; font:12px ui-monospace,monospace; white-space:pre-wrap; word-break:break-word; }
.req { color:#e12d39; }
.small { font-size:12px; color:var(--muted); }
`;

const SCRIPT = `
(function () {
  "use strict";
  var state = { doc: null, auth: "" };
  var el = function (tag, attrs, children) {
    var n = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === "text") n.textContent = attrs[k];
      else if (k === "cls") n.className = attrs[k];
      else n.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) n.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return n;
  };
  var $ = function (id) { return document.getElementById(id); };

  function authHeader() {
    var mode = $("authMode").value;
    if (mode === "basic" && $("user").value) return "Basic " + btoa(unescape(encodeURIComponent($("user").value + ":" + $("secret").value)));
    if (mode === "token" && $("secret").value) return "ApiToken " + $("secret").value;
    return "";
  }

  function resolve(schema, depth) {
    depth = depth || 0;
    if (!schema || depth > 6) return schema;
    if (schema.$ref) {
      var name = schema.$ref.split("/").pop();
      var target = state.doc.components && state.doc.components.schemas && state.doc.components.schemas[name];
      return target ? resolve(target, depth + 1) : schema;
    }
    return schema;
  }

  function example(schema, depth) {
    schema = resolve(schema, depth || 0);
    depth = depth || 0;
    if (!schema || depth > 4) return null;
    if (schema.example !== undefined) return schema.example;
    if (schema.default !== undefined) return schema.default;
    if (schema.enum) return schema.enum[0];
    var type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
    if (schema.anyOf || schema.oneOf) return example((schema.anyOf || schema.oneOf)[0], depth + 1);
    if (type === "object" || schema.properties) {
      var out = {};
      var props = schema.properties || {};
      var required = schema.required || [];
      Object.keys(props).forEach(function (k) {
        var p = resolve(props[k], depth + 1) || {};
        if (required.indexOf(k) >= 0 || p.example !== undefined) out[k] = example(props[k], depth + 1);
      });
      return out;
    }
    if (type === "array") return [];
    if (type === "integer" || type === "number") return 0;
    if (type === "boolean") return false;
    if (type === "string") return "";
    return null;
  }

  function paramRow(p) {
    var input = p.name === "filter" || p.name === "order"
      ? el("textarea", { rows: "2", placeholder: "one per line", "data-param": p.name, "data-in": p.in, "data-multi": "1" })
      : el("input", { placeholder: (p.schema && (p.schema.example !== undefined ? String(p.schema.example) : p.schema.default !== undefined ? String(p.schema.default) : "")) || "", "data-param": p.name, "data-in": p.in });
    return el("tr", null, [
      el("td", null, [el("span", { cls: "path", text: p.name }), p.required ? el("span", { cls: "req", text: " *" }) : null, el("div", { cls: "small", text: p.in })]),
      el("td", null, [input, p.description ? el("div", { cls: "small", text: p.description }) : null]),
    ]);
  }

  function send(method, path, op, box, out) {
    var url = path;
    var query = new URLSearchParams();
    var missing = [];
    box.querySelectorAll("[data-param]").forEach(function (input) {
      var name = input.getAttribute("data-param");
      var where = input.getAttribute("data-in");
      var value = input.value;
      if (where === "path") {
        if (!value) missing.push(name);
        url = url.replace("{" + name + "}", encodeURIComponent(value));
      } else if (where === "query" && value !== "") {
        if (input.getAttribute("data-multi")) value.split("\\n").forEach(function (v) { if (v.trim()) query.append(name, v.trim()); });
        else query.append(name, value);
      }
    });
    if (missing.length) { out.textContent = "Missing path parameter: " + missing.join(", "); return; }
    var qs = query.toString();
    if (qs) url += "?" + qs;
    var headers = { "Accept": "application/json", "X-Requested-With": "XMLHttpRequest" };
    var auth = authHeader();
    if (auth) headers.Authorization = auth;
    var init = { method: method.toUpperCase(), headers: headers, credentials: "same-origin" };
    var bodyBox = box.querySelector("textarea.json");
    if (bodyBox && bodyBox.value.trim() !== "") { init.body = bodyBox.value; headers["Content-Type"] = "application/json"; }
    out.textContent = init.method + " " + url + " …";
    var started = performance.now();
    fetch(url, init).then(function (res) {
      return res.text().then(function (text) {
        var ms = Math.round(performance.now() - started);
        var lines = [init.method + " " + url, "→ " + res.status + " " + res.statusText + " (" + ms + " ms)"];
        res.headers.forEach(function (v, k) { lines.push(k + ": " + v); });
        lines.push("");
        try { lines.push(JSON.stringify(JSON.parse(text), null, 2)); } catch (e) { lines.push(text); }
        out.textContent = lines.join("\\n");
      });
    }).catch(function (e) { out.textContent = "Request failed: " + e; });
  }

  function operation(method, path, op) {
    var box = el("div", { cls: "body" });
    if (op.description) box.appendChild(el("p", { text: op.description }));
    var params = (op.parameters || []).map(function (p) { return p.$ref ? resolve(p) : p; });
    if (params.length) {
      var table = el("table", null, [el("tr", null, [el("th", { text: "Parameter" }), el("th", { text: "Value" })])]);
      params.forEach(function (p) { table.appendChild(paramRow(p)); });
      box.appendChild(table);
    }
    var content = op.requestBody && op.requestBody.content;
    if (content) {
      var media = content["application/json"] || content[Object.keys(content)[0]];
      box.appendChild(el("div", { cls: "small", text: "Request body" + (op.requestBody.description ? ": " + op.requestBody.description : "") }));
      var ta = el("textarea", { cls: "json", spellcheck: "false" });
      ta.value = JSON.stringify(example(media && media.schema), null, 2);
      box.appendChild(ta);
      var schemaView = el("details", null, [el("summary", { cls: "small", text: "Body schema" }), el("pre", { text: JSON.stringify(resolve(media && media.schema), null, 2) })]);
      box.appendChild(schemaView);
    }
    var responses = op.responses || {};
    var codes = Object.keys(responses);
    if (codes.length) {
      box.appendChild(el("div", { cls: "small", text: "Responses: " + codes.map(function (c) { return c + " " + (responses[c].description || ""); }).join(" · ") }));
    }
    var out = el("pre", { text: "" });
    var button = el("button", { type: "button", text: "Send" });
    button.addEventListener("click", function () { send(method, path, op, box, out); });
    box.appendChild(el("p", null, [button]));
    box.appendChild(out);
    var summary = el("summary", null, [
      el("span", { cls: "method m-" + method, text: method }),
      el("span", { cls: "path", text: path }),
      el("span", { cls: "summary", text: op.summary || "" }),
    ]);
    var d = el("details", { cls: "op", "data-search": (method + " " + path + " " + (op.summary || "")).toLowerCase() }, [summary, box]);
    return d;
  }

  function render() {
    var doc = state.doc;
    var root = $("ops");
    root.textContent = "";
    var groups = {};
    Object.keys(doc.paths || {}).sort().forEach(function (path) {
      var item = doc.paths[path];
      ["get", "post", "put", "patch", "delete", "head", "options"].forEach(function (m) {
        if (!item[m]) return;
        var tag = (item[m].tags && item[m].tags[0]) || "other";
        (groups[tag] = groups[tag] || []).push(operation(m, path, item[m]));
      });
    });
    Object.keys(groups).sort().forEach(function (tag) {
      var section = el("section", { "data-tag": tag }, [el("div", { cls: "tag", text: tag + " (" + groups[tag].length + ")" })]);
      groups[tag].forEach(function (o) { section.appendChild(o); });
      root.appendChild(section);
    });
    $("status").textContent = (doc.info ? doc.info.title + " " + doc.info.version + " — " : "") + Object.keys(doc.paths || {}).length + " paths";
    applySearch();
  }

  function applySearch() {
    var q = $("search").value.trim().toLowerCase();
    document.querySelectorAll("details.op").forEach(function (d) {
      d.style.display = !q || d.getAttribute("data-search").indexOf(q) >= 0 ? "" : "none";
    });
    document.querySelectorAll("section[data-tag]").forEach(function (s) {
      var any = Array.prototype.some.call(s.querySelectorAll("details.op"), function (d) { return d.style.display !== "none"; });
      s.style.display = any ? "" : "none";
    });
  }

  function load() {
    $("status").textContent = "Loading /api/openapi.json …";
    var headers = { "Accept": "application/json", "X-Requested-With": "XMLHttpRequest" };
    var auth = authHeader();
    if (auth) headers.Authorization = auth;
    fetch("/api/openapi.json", { headers: headers, credentials: "same-origin" }).then(function (res) {
      if (!res.ok) throw new Error("HTTP " + res.status + (res.status === 401 ? " — enter credentials above and press Load" : ""));
      return res.json();
    }).then(function (doc) { state.doc = doc; render(); })
      .catch(function (e) { $("status").textContent = "Could not load the document: " + e.message; });
  }

  $("search").addEventListener("input", applySearch);
  $("load").addEventListener("click", load);
  $("authMode").addEventListener("change", function () {
    $("user").style.display = $("authMode").value === "basic" ? "" : "none";
    $("secret").placeholder = $("authMode").value === "token" ? "d2pat_…" : "password";
  });
  load();
})();
`;

const BODY = `<header>
<h1>HRHIS4 Edge API</h1>
<select id="authMode" aria-label="Authentication"><option value="basic">Basic</option><option value="token">API token</option><option value="session">Browser session</option></select>
<input id="user" placeholder="username" autocomplete="username" aria-label="Username">
<input id="secret" type="password" placeholder="password" autocomplete="current-password" aria-label="Password or token">
<button id="load" type="button" class="secondary">Load</button>
<input id="search" class="grow" placeholder="Filter operations (method, path, summary)" aria-label="Filter operations">
</header>
<main><div id="status" class="status"></div><div id="ops"></div></main>`;

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  let bin = "";
  for (const b of new Uint8Array(digest)) bin += String.fromCharCode(b);
  return btoa(bin);
}

let cached: { html: string; csp: string } | undefined;

/** The page and its Content-Security-Policy (hashes of the inline script and style). */
export async function docsPage(): Promise<{ html: string; csp: string }> {
  if (cached) return cached;
  const [scriptHash, styleHash] = await Promise.all([sha256Base64(SCRIPT), sha256Base64(STYLE)]);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>HRHIS4 Edge API reference</title>
<style>${STYLE}</style></head>
<body>${BODY}
<script>${SCRIPT}</script>
</body></html>`;
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${scriptHash}'`,
    `style-src 'sha256-${styleHash}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  cached = { html, csp };
  return cached;
}

/** For tests: the inline script (so its syntax can be checked). */
export const DOCS_SCRIPT = SCRIPT;
