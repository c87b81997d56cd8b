#!/usr/bin/env node
// A webhook receiver for HRHIS4 Edge's failure alerts, for local development and the alerts bench.
//
//   ALERT_SECRET=<the rule's secret> node scripts/alert-receiver.mjs [port]     (default port 8866)
//
// Prints every alert it receives with the result of its signature check: the signature is verified
// with the service's own code (src/executor/protocol.ts, `verifySignature`: HMAC-SHA-256 over
// "HRHIS4-HMAC-SHA256\n" + METHOD + "\n" + path?query + "\n" + timestamp + "\n" + hex SHA-256(body)),
// with the 5-minute freshness rule and a replay check. RECEIVER_FAIL=N answers the first N requests
// 503, so the service's retries show. Also imported by bench/alerts.bench.mjs (`startReceiver`).
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { transform } from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The service's protocol module (TypeScript, no imports), compiled on the fly. */
async function protocol() {
  const source = await readFile(path.join(ROOT, "src/executor/protocol.ts"), "utf8");
  const { code } = await transform(source, { loader: "ts", format: "esm" });
  return import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
}

/**
 * Starts a receiver on 127.0.0.1:`port`. `onAlert({ body, signature, receivedAt, headers })` sees each
 * request; `answer(n)` gives the status of the n-th request (1-based; default 200).
 * Returns `{ url, close() }`.
 */
export async function startReceiver({ port = 8866, secret, onAlert = () => {}, answer = () => 200 }) {
  if (!secret) throw new Error("a receiver needs the rule's secret (ALERT_SECRET)");
  const { verifySignature, MemoryReplayCache, MAX_SKEW_MS } = await protocol();
  const replays = new MemoryReplayCache();
  let count = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const receivedAt = Date.now();
      const text = Buffer.concat(chunks).toString("utf8");
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
      const url = `http://127.0.0.1:${port}${req.url}`;
      const check = await verifySignature(secret, { method: req.method, url, headers }, text, receivedAt);
      let signature = check.ok ? "valid" : `INVALID (${check.message})`;
      if (check.ok && !(await replays.remember(check.signature, check.timestamp + MAX_SKEW_MS, receivedAt))) signature = "REPLAYED";
      let body = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = { text };
      }
      const status = answer(++count);
      try {
        onAlert({ body, signature, receivedAt, headers, status });
      } finally {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ ok: status < 300 }));
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    url: `http://localhost:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 8866);
  const secret = process.env.ALERT_SECRET;
  const failFirst = Number(process.env.RECEIVER_FAIL ?? 0);
  if (!secret) {
    console.error("Set ALERT_SECRET to the secret of the alert rule (the one you POSTed to /api/scheduler/alerts).");
    process.exit(2);
  }
  const receiver = await startReceiver({
    port,
    secret,
    answer: (n) => (n <= failFirst ? 503 : 200),
    onAlert: ({ body, signature, receivedAt, headers, status }) => {
      const attempt = headers.get("x-hrhis4-attempt") ?? "?";
      console.log(
        `${new Date(receivedAt).toISOString()}  ${status}  signature ${signature}  attempt ${attempt}  ${body.alert ?? "?"}  id ${body.id ?? "?"}`,
      );
      console.log(`    ${body.text ?? JSON.stringify(body)}`);
    },
  });
  console.log(`Alert receiver on ${receiver.url}/  (use it as the rule's webhook URL; Ctrl-C stops it)`);
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => receiver.close().then(() => process.exit(0)));
}
