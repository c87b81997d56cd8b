/**
 * End to end with real alarms and the real clock, no manual triggering: what `wrangler dev` does.
 * (The one timed test of the scheduler; everything else runs on an injected clock.)
 */
import { env } from "cloudflare:test";
import { afterAll, beforeAll, expect, it } from "vitest";
import { setClock } from "../../src/http/clock";
import { syncJobObject } from "../../src/scheduling/sync";
import { insertJob, runs } from "./support";

const created: string[] = [];

beforeAll(async () => {
  setClock(null);
  await env.DB.prepare(`DELETE FROM job_configurations`).run();
});

afterAll(async () => {
  await env.DB.prepare(`DELETE FROM job_configurations`).run();
  for (const uid of created) await syncJobObject(env, uid); // deleted: the objects disarm
});

it("a */2 seconds cron job runs at least 3 times in 10 s; a FIXED_DELAY job spaces its runs by the delay", async () => {
  const now = Date.now();
  const cron = await insertJob({ name: "every two seconds", cron: "*/2 * * * * *", created: now });
  const fixed = await insertJob({
    name: "fixed delay 2 s",
    delay: 2,
    created: now,
    parameters: { stages: 1, items: 2, itemDuration: 150 },
  });
  created.push(cron, fixed);
  await syncJobObject(env, cron);
  await syncJobObject(env, fixed);
  await new Promise((r) => setTimeout(r, 10_000));

  const cronRuns = (await runs(cron)).filter((r) => r.status === "COMPLETED");
  expect(cronRuns.length).toBeGreaterThanOrEqual(3);
  for (const r of cronRuns) {
    expect(r.scheduled_at % 2000).toBe(0);
    expect(r.started_at! - r.scheduled_at).toBeLessThan(1000); // started on time
  }
  expect(new Set(cronRuns.map((r) => r.scheduled_at)).size).toBe(cronRuns.length); // no occurrence twice

  const fixedRuns = (await runs(fixed)).filter((r) => r.status === "COMPLETED");
  expect(fixedRuns.length).toBeGreaterThanOrEqual(3);
  expect(fixedRuns[0].started_at! - now).toBeGreaterThanOrEqual(2000);
  for (let i = 1; i < fixedRuns.length; i++) {
    const gap = fixedRuns[i].started_at! - fixedRuns[i - 1].finished_at!;
    expect(gap).toBeGreaterThanOrEqual(2000);
    expect(gap).toBeLessThan(2500);
    expect(fixedRuns[i - 1].finished_at! - fixedRuns[i - 1].started_at!).toBeGreaterThanOrEqual(300); // the runs take time
  }
}, 20_000);
