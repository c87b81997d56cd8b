/**
 * A D1 that does not answer a run's end (issue 17). During a burst of 3,000 runs the local D1 held
 * its answers for a minute and more (it answers a burst's writes together, once it commits them), and
 * every run of the burst waited for its end to be recorded; a D1 call that is never answered would
 * have kept its run RUNNING for ever. Now the end's write is bounded: past END_RECORD_TIMEOUT_MS the
 * end counts as refused, is logged, kept in the object and recorded by the retry alarm, and the late
 * answer, when it comes, changes nothing. And runs waiting for D1 do not pile heartbeats on it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { END_RECORD_TIMEOUT_MS, ERROR_RETRY_MS, HEARTBEAT_MS, setEndRecordTimeoutMs, setHeartbeatMs } from "../../src/scheduling/engine";
import { registerJobHandler } from "../../src/scheduling/handlers";
import { captureConsole } from "../console-capture";
import { api } from "../helpers";
import { FaultPlan } from "../reliability/support";
import { RUN_END_SQL, alarmOf, fire, gate, insertJob, row, runs, schedulerTestLifecycle, until, withObjectDb } from "./support";

const clk = schedulerTestLifecycle(["TEST"]);
const DEFAULT_TIMEOUT = END_RECORD_TIMEOUT_MS;

describe("a run whose end D1 does not answer", () => {
  beforeAll(() => setEndRecordTimeoutMs(100));
  afterAll(() => setEndRecordTimeoutMs(DEFAULT_TIMEOUT));

  it("ends all the same: logged, kept, recorded by the retry alarm; the late answer changes nothing", async () => {
    const uid = await insertJob({ cron: "0 0 0 * * *" });
    expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status).toBe(200);
    const plan = new FaultPlan(1, RUN_END_SQL, "hold");

    // The alarm pass returns although D1 never answers the end.
    const { json } = await captureConsole(() => withObjectDb(uid, plan, () => fire(uid)));
    expect(plan.failed).toBe(true);
    expect(json.filter((l) => l.event === "run.end_not_recorded")).toMatchObject([
      { level: "warn", jobId: uid, status: "COMPLETED", retryInMs: ERROR_RETRY_MS, error: { message: expect.stringContaining("100 ms") } },
    ]);
    expect(json.some((l) => l.event === "run_end")).toBe(false); // not reported before D1 has it
    expect(await row(uid)).toMatchObject({ job_status: "RUNNING" });
    expect(await alarmOf(uid)).toBe(clk.now() + ERROR_RETRY_MS);

    // The retry records the kept end, with the run's real outcome.
    clk.advance(ERROR_RETRY_MS);
    await fire(uid);
    expect(await row(uid)).toMatchObject({ job_status: "SCHEDULED", last_executed_status: "COMPLETED", last_finished: T0end() });
    const afterRetry = await runs(uid);
    expect(afterRetry).toMatchObject([{ status: "COMPLETED", finished_at: T0end() }]);

    // The held write is answered at last: it finds no RUNNING run to finish.
    plan.release();
    await until(async () => plan.heldAnswered);
    expect(await runs(uid)).toEqual(afterRetry);
    expect(await row(uid)).toMatchObject({ job_status: "SCHEDULED", last_executed_status: "COMPLETED" });
  });
});

/** The instant the run ended: the manual clock does not move during the alarm pass. */
function T0end(): number {
  return clk.now() - ERROR_RETRY_MS;
}

describe("heartbeats while D1 is slow", () => {
  const DEFAULT_HEARTBEAT = HEARTBEAT_MS;
  const START_SQL = /SET job_status = 'RUNNING', last_executed/;
  const BEAT_SQL = /SET last_alive = \? WHERE uid/;
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  beforeAll(() => setHeartbeatMs(20));
  afterAll(() => setHeartbeatMs(DEFAULT_HEARTBEAT));

  /** Runs the job with a handler that holds it until `g.open()`, D1 reached through `plan`. */
  async function holdRun(plan: FaultPlan) {
    const g = gate();
    registerJobHandler("TEST", async () => {
      await g.promise;
    });
    const uid = await insertJob({ cron: "0 0 0 * * *" });
    expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status).toBe(200);
    const firing = withObjectDb(uid, plan, () => fire(uid));
    return { uid, g, firing };
  }

  it("none before D1 has the run's start", async () => {
    const plan = new FaultPlan(1, new RegExp(`${START_SQL.source}|${BEAT_SQL.source}`), "hold");
    const { uid, g, firing } = await holdRun(plan);
    await until(async () => plan.failed); // the start's record is held
    await wait(300); // 15 heartbeat periods
    expect(plan.count).toBe(1); // the start alone: no heartbeat while it is not recorded
    plan.release();
    await until(async () => plan.count >= 3); // recorded: the heartbeats begin
    g.open();
    await firing;
    expect(await row(uid)).toMatchObject({ job_status: "SCHEDULED", last_executed_status: "COMPLETED" });
  });

  it("one in flight at most: a heartbeat D1 has not answered holds back the next", async () => {
    const plan = new FaultPlan(1, BEAT_SQL, "hold");
    const { uid, g, firing } = await holdRun(plan);
    await until(async () => plan.failed); // the first heartbeat gets no answer
    await wait(300);
    expect(plan.count).toBe(1);
    plan.release();
    await until(async () => plan.count >= 3); // answered: the next ones go out
    g.open();
    await firing;
    expect(await row(uid)).toMatchObject({ job_status: "SCHEDULED", last_executed_status: "COMPLETED" });
  });
});
