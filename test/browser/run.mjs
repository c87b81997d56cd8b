#!/usr/bin/env node
// Browser test (part of `npm test`): headless Chromium signs in through the Worker's sign-in page and
// loads a hosted test app that makes the DHIS2 app shell's calls with @dhis2/data-engine (the data
// engine of @dhis2/app-runtime), on the same origin, against `wrangler dev`. Runs under Node.
//
// Needs Debian's chromium (/usr/bin/chromium, or CHROMIUM_PATH); without it the test is skipped with
// a message (CI installs it in .ci/run). playwright-core drives it; no browser is downloaded.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile, copyFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const here = path.join(root, "test/browser");
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const OVERALL_TIMEOUT_MS = 90_000;
const APP = "shell-test";

if (!existsSync(CHROMIUM)) {
  console.log(`browser test SKIPPED: no Chromium at ${CHROMIUM} (install it with: apt-get install -y chromium; CI does).`);
  process.exit(0);
}

const started = Date.now();
// node_modules/.bin first: wrangler needs the project's Node (devDependency `node`), as under `npm test`.
const env = {
  ...process.env,
  PATH: `${path.join(root, "node_modules/.bin")}${path.delimiter}${process.env.PATH ?? ""}`,
  CI: "true",
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  NO_COLOR: "1",
};
const bin = (name) => path.join(root, "node_modules/.bin", name);
let dev;
let browser;
let work;

const failures = [];
function check(name, ok, detail) {
  if (ok) console.log(`  ok   ${name}`);
  else {
    failures.push(name);
    console.log(`  FAIL ${name}${detail === undefined ? "" : `: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`}`);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(url, timeoutMs) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (dev.exitCode !== null) throw new Error(`wrangler dev exited with ${dev.exitCode}`);
    if (Date.now() > until) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function buildAssets(dir) {
  const { build } = await import("esbuild");
  const appDir = path.join(dir, APP);
  await mkdir(appDir, { recursive: true });
  await build({
    entryPoints: [path.join(here, "page/shell-page.js")],
    bundle: true,
    format: "iife",
    target: "es2020",
    outfile: path.join(appDir, "app.js"),
    logLevel: "error",
  });
  await copyFile(path.join(here, "page/index.html"), path.join(appDir, "index.html"));
  await writeFile(
    path.join(appDir, "manifest.webapp"),
    JSON.stringify({ name: "Shell test", launch_path: "index.html", activities: { dhis: { href: "*" } } }),
  );
  await writeFile(path.join(dir, "apps.json"), JSON.stringify([APP]));
}

async function main() {
  work = await mkdtemp(path.join(tmpdir(), "hrhis4-browser-"));
  const assets = path.join(work, "assets");
  const state = path.join(work, "state");
  await buildAssets(assets);

  const migrate = spawnSync(bin("wrangler"), ["d1", "migrations", "apply", "hrhis4", "--local", "--persist-to", state], {
    cwd: root,
    env,
    encoding: "utf8",
  });
  if (migrate.status !== 0) throw new Error(`D1 migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);

  const port = await freePort();
  const base = `http://localhost:${port}`;
  const log = [];
  dev = spawn(bin("wrangler"), ["dev", "--port", String(port), "--ip", "127.0.0.1", "--assets", assets, "--persist-to", state], {
    cwd: root,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  dev.stdout.on("data", (d) => log.push(String(d)));
  dev.stderr.on("data", (d) => log.push(String(d)));
  try {
    await waitFor(`http://127.0.0.1:${port}/api/ping`, 45_000);
  } catch (e) {
    console.log(log.join(""));
    throw e;
  }
  console.log(`wrangler dev ready on ${base} after ${Date.now() - started} ms`);

  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  const seen = [];
  page.on("request", (req) => {
    if (req.url().startsWith(base)) seen.push({ method: req.method(), path: new URL(req.url()).pathname, headers: req.headers() });
  });

  // 1. Without a session the app sends the browser to the sign-in page.
  await page.goto(`${base}/dhis-web-${APP}/`);
  check(
    "hosted app redirects to the sign-in page",
    page.url().startsWith(`${base}/dhis-web-commons-security/login.html?redirect=`),
    page.url(),
  );

  // 2. Sign in (POST /api/auth/login), which returns to the app.
  await page.fill("#username", "admin");
  await page.fill("#password", "district");
  await Promise.all([page.waitForURL(`${base}/dhis-web-${APP}/`, { timeout: 15_000 }), page.click("button[type=submit]")]);
  const cookies = await context.cookies(base);
  const session = cookies.find((c) => c.name === "JSESSIONID");
  check("session cookie is HttpOnly, Secure, SameSite=Lax", session?.httpOnly && session.secure && session.sameSite === "Lax", session);

  // 3. The test app runs the shell's calls through the data engine.
  await page.waitForFunction(() => window.__shellResults !== undefined, null, { timeout: 20_000 });
  const r = await page.evaluate(() => window.__shellResults);
  check("no fatal error", !r.fatal, r.fatal);
  check("dhis2-base-url filled in with the service's origin", r.baseUrl === base, r.baseUrl);
  check(
    "system/info: version 2.NN.p and serverTimeZoneId",
    /^2\.\d+\.\d+/.test(r.calls.systemInfo?.version ?? "") && typeof r.calls.systemInfo?.serverTimeZoneId === "string",
    r.calls.systemInfo,
  );
  const shell = r.calls.shell;
  check("shell queries succeed (me, userSettings, systemSettings, getModules)", shell && !r.errors.shell, r.errors.shell);
  if (shell) {
    check("me has id and authorities", typeof shell.me?.id === "string" && Array.isArray(shell.me?.authorities), shell.me);
    check(
      "userSettings has keyUiLocale and keyUiLanguageTag",
      typeof shell.userSettings?.keyUiLocale === "string" && typeof shell.userSettings?.keyUiLanguageTag === "string",
      shell.userSettings,
    );
    check("systemSettings has applicationTitle", typeof shell.systemSettings?.applicationTitle === "string", shell.systemSettings);
    check("systemSettings/applicationTitle is {applicationTitle}", typeof shell.title?.applicationTitle === "string", shell.title);
    check("systemSettings/helpPageLink is {helpPageLink}", typeof shell.help?.helpPageLink === "string", shell.help);
    check(
      "getModules lists the hosted app",
      shell.apps?.modules?.some((m) => m.name === `dhis-web-${APP}` && m.displayName === "Shell test"),
      shell.apps,
    );
  }
  const o = r.calls.options;
  check("job form option lists succeed", o && !r.errors.options, r.errors.options);
  if (o) {
    check(
      "analytics/tableTypes is the enum array",
      Array.isArray(o.skipTableTypes) && o.skipTableTypes.includes("DATA_VALUE") && o.skipTableTypes.length === 11,
      o.skipTableTypes,
    );
    check("dataIntegrity is an array", Array.isArray(o.dataIntegrityChecks), o.dataIntegrityChecks);
    const lists = {
      validationRuleGroups: o.validationRuleGroups,
      pushAnalysis: o.pushAnalysis,
      predictors: o.predictors,
      predictorGroups: o.predictorGroups,
      dashboards: o.dashboard,
      userGroups: o.receivers,
      programs: o.programs,
      aggregateDataExchanges: o.dataExchangeIds,
    };
    for (const [name, body] of Object.entries(lists))
      check(`${name} is {${name}: []}`, Array.isArray(body?.[name]) && body[name].length === 0, body);
  }
  check(
    "text/plain user setting write with the session cookie",
    r.calls.saveLocale?.status === "OK" && !r.errors.saveLocale,
    r.errors.saveLocale ?? r.calls.saveLocale,
  );
  check("the write is visible", r.calls.localeAfter?.locale === "fr", r.calls.localeAfter);

  // 4. What went over the wire: versioned paths and app-runtime's headers.
  const versioned = seen.filter((s) => /^\/api\/\d+\//.test(s.path)).map((s) => s.path);
  check(
    "data engine used versioned /api/<minor>/ paths",
    versioned.includes(`/api/${r.serverVersion?.minor}/me`) && versioned.includes(`/api/${r.serverVersion?.minor}/userSettings`),
    versioned,
  );
  check(
    "getModules requested at /dhis-web-commons/menu/getModules.action",
    seen.some((s) => s.path === "/dhis-web-commons/menu/getModules.action"),
  );
  const engineCalls = seen.filter((s) => s.path.startsWith("/api/") && s.path !== "/api/auth/login");
  check(
    "every engine call sent X-Requested-With and Accept: application/json",
    engineCalls.length > 10 &&
      engineCalls.every((s) => s.headers["x-requested-with"] === "XMLHttpRequest" && s.headers.accept === "application/json"),
  );
  const write = seen.find((s) => s.method === "POST" && s.path.endsWith("/userSettings/keyUiLocale"));
  check("the setting write was text/plain", write?.headers["content-type"] === "text/plain", write?.headers);

  // 5. Same origin: a plain fetch write passes on its Origin header. Another origin cannot write.
  const status = await page.evaluate(async (url) => {
    const res = await fetch(url, { method: "POST", credentials: "include", headers: { "Content-Type": "text/plain" }, body: "de" });
    return res.status;
  }, `${base}/api/userSettings/keyUiLocale`);
  check("same-origin write without X-Requested-With passes on the Origin header", status === 200, status);
  const other = await context.newPage();
  await other.goto(`http://127.0.0.1:${port}/dhis-web-commons-security/login.html`);
  const crossSite = await other.evaluate(async (url) => {
    try {
      const res = await fetch(url, { method: "POST", credentials: "include", headers: { "Content-Type": "text/plain" }, body: "nb" });
      return `status ${res.status}`;
    } catch {
      return "blocked";
    }
  }, `${base}/api/userSettings/keyUiLocale`);
  const after = await fetch(`${base}/api/userSettings/keyUiLocale`, { headers: { Authorization: `Basic ${btoa("admin:district")}` } }).then(
    (res) => res.text(),
  );
  check("a page on another origin cannot change settings with the session", after === "de", { crossSite, after });

  // 6. After signing in, the page returns only to this origin (issue 14: tab, newline, backslash,
  //    encoded and protocol-relative targets would otherwise lead Chromium to another host).
  const fresh = await browser.newContext();
  const away = [];
  await fresh.route(
    (url) => url.origin !== base,
    (route) => {
      away.push(route.request().url());
      return route.abort();
    },
  );
  const signInVia = async (redirect) => {
    const p = await fresh.newPage();
    await p.goto(`${base}/dhis-web-commons-security/login.html?redirect=${redirect}`);
    await p.fill("#username", "admin");
    await p.fill("#password", "district");
    await Promise.all([
      p.waitForURL((url) => !url.pathname.endsWith("/login.html"), { timeout: 15_000 }).catch(() => {}),
      p.click("button[type=submit]"),
    ]);
    await p.waitForLoadState("load").catch(() => {});
    const landed = p.url();
    await p.close();
    return landed;
  };
  const hostile = [
    "/%09/evil.example/x",
    "%2F%09%2Fevil.example%2Fx",
    "/%0a/evil.example/x",
    "%2F%5Cevil.example%2Fx",
    "/%5C/evil.example",
    "%2F%2Fevil.example%2Fx",
    "//evil.example/x",
    "https://evil.example/x",
    "javascript:alert(1)",
  ];
  for (const redirect of hostile) {
    const before = away.length;
    const landed = await signInVia(redirect);
    const left = away.slice(before);
    check(`redirect=${redirect} stays on this origin`, new URL(landed).origin === base && left.length === 0, { landed, left });
  }
  const local = await signInVia(encodeURIComponent(`/dhis-web-${APP}/?from=login`));
  check("a same-origin redirect is followed", local === `${base}/dhis-web-${APP}/?from=login`, local);
  await fresh.close();
}

const timer = setTimeout(() => {
  console.error(`browser test timed out after ${OVERALL_TIMEOUT_MS} ms`);
  cleanup().finally(() => process.exit(1));
}, OVERALL_TIMEOUT_MS);

async function cleanup() {
  await browser?.close().catch(() => {});
  if (dev && dev.exitCode === null) {
    try {
      process.kill(-dev.pid, "SIGTERM"); // wrangler and its workerd child (their own process group)
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  if (work) await rm(work, { recursive: true, force: true }).catch(() => {});
}

console.log("browser test: DHIS2 app shell calls from headless Chromium");
main()
  .catch((e) => {
    failures.push(String(e?.stack ?? e));
    console.error(e);
  })
  .finally(async () => {
    clearTimeout(timer);
    await cleanup();
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (failures.length > 0) {
      console.log(`browser test FAILED (${failures.length}) in ${secs} s`);
      process.exit(1);
    }
    console.log(`browser test passed in ${secs} s`);
    process.exit(0);
  });
