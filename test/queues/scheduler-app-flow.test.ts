/**
 * The Scheduler app's flow "create a queue of two jobs, delete the queue" (issue 13), made with the
 * app's own calls: @dhis2/data-engine (the engine inside @dhis2/app-runtime) with the queries and
 * mutations of dhis2/scheduler-app 101.6.27 (`src/hooks/jobs/use-submit-job.js`,
 * `src/hooks/queueables/use-queueables.js`, `src/hooks/queues/use-submit-queue.js`,
 * `src/components/Modal/DeleteQueueModal.jsx`, `src/hooks/jobs-and-queues/use-jobs-and-queues.js`)
 * against the Worker on `/api/41/…`, then the list the app renders from `GET scheduler`
 * (`src/pages/JobAndQueueList/filter-jobs-and-queues.js`: system jobs hidden).
 */
import { DataEngine, RestAPILink } from "@dhis2/data-engine";
import { exports } from "cloudflare:workers";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import { adminAuth, BASE } from "../helpers";
import { clearJobs, deleteJobAlarms, T0 } from "./support";

const clockNow = manualClock(T0);
/** Every request the engine sent: method and path (what the app puts on the wire). */
let sent: string[] = [];

beforeEach(async () => {
  setClock(clockNow);
  clockNow.set(T0);
  await clearJobs();
  sent = [];
  // The app runs in a signed-in browser session; here the engine's fetch carries admin's Basic credentials.
  vi.stubGlobal("fetch", (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    const headers = new Headers(req.headers);
    headers.set("Authorization", adminAuth());
    sent.push(`${req.method} ${new URL(req.url).pathname}`);
    return (exports as { default: { fetch: (r: Request) => Promise<Response> } }).default.fetch(new Request(req, { headers }));
  });
});

afterEach(async () => {
  vi.unstubAllGlobals();
  await deleteJobAlarms();
});
afterAll(() => setClock(null));

const engine = () =>
  new DataEngine(new RestAPILink({ baseUrl: BASE, apiVersion: 41, serverVersion: { major: 2, minor: 42, patch: 0, full: "2.42.0" } }));

interface Row {
  id: string;
  name: string;
  type: string;
  configurable: boolean;
  enabled: boolean;
  sequence: { id: string; name: string }[];
}

/** useJobsAndQueues + filterJobsAndQueues (no name filter, system jobs hidden): the rows the app shows. */
async function appList(): Promise<Row[]> {
  const data = (await engine().query({ jobsAndQueues: { resource: "scheduler" } })).jobsAndQueues as Row[];
  expect(Array.isArray(data)).toBe(true);
  return data.map((jobOrQueue) => ({ ...jobOrQueue, id: jobOrQueue.sequence?.[0]?.id })).filter((row) => row.configurable);
}

describe("Scheduler app: create a queue of two jobs, delete the queue", () => {
  it("leaves both jobs in the app's list", async () => {
    const app = engine();
    // Add job (use-submit-job.js): the form values; numbers as strings, no `enabled`.
    const createJob = (job: Record<string, unknown>) => app.mutate({ resource: "jobConfigurations", type: "create", data: job });
    await createJob({ name: "Nightly integrity", jobType: "DATA_INTEGRITY", cronExpression: "0 0 1 ? * *" });
    await createJob({
      name: "Nightly analytics",
      jobType: "ANALYTICS_TABLE",
      cronExpression: "0 0 2 ? * *",
      jobParameters: { lastYears: "2", skipTableTypes: [], skipPrograms: [] },
    });
    const jobs = await appList();
    expect(jobs.map((r) => r.name).sort()).toEqual(["Nightly analytics", "Nightly integrity"]);
    const ids = Object.fromEntries(jobs.map((r) => [r.name, r.id]));

    // Add queue (QueueOrderField → useQueueables, then useSubmitQueue with the form values).
    const queueables = (await app.query({ queueables: { resource: "scheduler/queueable" } })).queueables as Row[];
    expect(queueables.map((q) => q.name)).toEqual(["Nightly analytics", "Nightly integrity"]);
    const queue = { name: "Night queue", cronExpression: "0 0 3 ? * *", sequence: [ids["Nightly integrity"], ids["Nightly analytics"]] };
    await app.mutate({ resource: `scheduler/queues/${encodeURIComponent(queue.name)}`, type: "create", data: queue });
    const withQueue = await appList();
    expect(withQueue.map((r) => [r.name, r.type, r.id, r.sequence.map((j) => j.name)])).toEqual([
      ["Night queue", "Sequence", ids["Nightly integrity"], ["Nightly integrity", "Nightly analytics"]],
    ]);

    // Delete queue (DeleteQueueModal: the name as the mutation id, not encoded).
    await app.mutate({ resource: "scheduler/queues", id: "Night queue", type: "delete" });

    const after = await appList();
    expect(after.map((r) => [r.name, r.type, r.id, r.sequence.length, r.enabled]).sort()).toEqual([
      ["Nightly analytics", "ANALYTICS_TABLE", ids["Nightly analytics"], 1, false],
      ["Nightly integrity", "DATA_INTEGRITY", ids["Nightly integrity"], 1, false],
    ]);
    // Both can be queued again.
    const again = (await app.query({ queueables: { resource: "scheduler/queueable" } })).queueables as Row[];
    expect(again.map((q) => q.name)).toEqual(["Nightly analytics", "Nightly integrity"]);

    expect(sent).toEqual([
      "POST /api/41/jobConfigurations",
      "POST /api/41/jobConfigurations",
      "GET /api/41/scheduler",
      "GET /api/41/scheduler/queueable",
      "POST /api/41/scheduler/queues/Night%20queue",
      "GET /api/41/scheduler",
      "DELETE /api/41/scheduler/queues/Night%20queue",
      "GET /api/41/scheduler",
      "GET /api/41/scheduler/queueable",
    ]);
  });
});
