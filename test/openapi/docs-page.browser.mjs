// Manual browser check of /api/docs (not part of vitest): `node test/openapi/docs-page.browser.mjs`.
// Starts the Worker with wrangler dev, opens the page in headless Chromium (CHROMIUM_PATH or
// /usr/bin/chromium; skipped without it), loads the document, sends three requests through the page
// and fails on any script error or CSP violation.
import { existsSync } from "node:fs";
import { startWorker } from "../../bench/lib.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  console.log(`docs page browser check SKIPPED: no Chromium at ${CHROMIUM}`);
  process.exit(0);
}
const { chromium } = await import("playwright-core");
const s = await startWorker();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage();
  const problems = [];
  page.on("console", (m) => {
    if ((m.type() === "error" || m.type() === "warning") && !/favicon|status of 404/.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(`pageerror ${e.message}`));
  await page.goto(`${s.url}/api/docs`);
  await page.waitForTimeout(1500);
  console.log("status without credentials:", await page.textContent("#status"));
  await page.fill("#user", "admin");
  await page.fill("#secret", "district");
  await page.click("#load");
  await page.waitForFunction(() => !document.getElementById("status").textContent.startsWith("Loading"), null, { timeout: 15000 });
  await page.waitForSelector("details.op", { timeout: 15000 });
  console.log("status:", await page.textContent("#status"));
  console.log("ops:", await page.locator("details.op").count(), "tags:", await page.locator("section[data-tag]").count());
  const op = page.locator('details.op[data-search^="get /api/jobconfigurations/jobtypes "]').first();
  await op.locator(":scope > summary").click();
  await op.locator("button").click();
  await page.waitForFunction((el) => el.querySelector(":scope > .body > pre").textContent.includes("→"), await op.elementHandle(), {
    timeout: 10000,
  });
  console.log((await op.locator(":scope > .body > pre").textContent()).slice(0, 200));
  // POST with the prefilled body edited
  const post = page.locator('details.op[data-search^="post /api/jobconfigurations "]').first();
  await post.locator(":scope > summary").click();
  console.log("prefilled body:", (await post.locator("textarea.json").inputValue()).slice(0, 300));
  await post.locator("textarea.json").fill(JSON.stringify({ name: "From docs", jobType: "RESOURCE_TABLE", cronExpression: "0 0 3 ? * *" }));
  await post.locator("button").click();
  await page.waitForFunction((el) => el.querySelector(":scope > .body > pre").textContent.includes("→"), await post.elementHandle(), {
    timeout: 10000,
  });
  console.log((await post.locator(":scope > .body > pre").textContent()).slice(0, 120));
  // GET one with a path parameter and a query parameter
  await page.fill("#search", "get /api/jobconfigurations/{id}");
  const one = page.locator('details.op[data-search^="get /api/jobconfigurations/{id} "]').first();
  await one.locator(":scope > summary").click();
  await one.locator('[data-param="id"]').fill("DHIS2rocks1");
  await one.locator('[data-param="fields"]').fill("id,name");
  await one.locator("button").click();
  await page.waitForFunction((el) => el.querySelector(":scope > .body > pre").textContent.includes("→"), await one.elementHandle(), {
    timeout: 10000,
  });
  console.log(await one.locator(":scope > .body > pre").textContent());
  console.log("visible ops after search:", await page.locator("details.op:visible").count());
  const expectIn = async (loc, text) => {
    const t = await loc.textContent();
    if (!t.includes(text)) throw new Error(`expected ${JSON.stringify(text)} in:\n${t}`);
  };
  await expectIn(op.locator(":scope > .body > pre"), "→ 200");
  await expectIn(post.locator(":scope > .body > pre"), "→ 201");
  await expectIn(one.locator(":scope > .body > pre"), '"name": "Housekeeping"');
  if (problems.length) throw new Error(`console problems: ${problems.join("; ")}`);
  console.log("docs page browser check OK");
} finally {
  await browser.close();
  await s.stop();
}
