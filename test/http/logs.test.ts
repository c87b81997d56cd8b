/**
 * Logs a dashboard user can read (Workers Logs): one JSON line per unhandled error, with the method,
 * path and stack but no credential; the Cron Trigger's failures are logged and fail its invocation.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { captureConsole } from "../console-capture";
import { downKv, FaultPlan, failingDb, fetchWith } from "../reliability/support";

/** Every line written to console.error while `fn` runs, parsed when it is JSON. */
const errorLines = (fn: () => Promise<unknown>) => captureConsole(fn, ["error"]);

afterEach(() => vi.restoreAllMocks());

describe("unhandled errors", () => {
  it("answer a 500 WebMessage and log one JSON line: method, path (no query), name, message, stack; no credential", async () => {
    let res: Response | undefined;
    const lines = await errorLines(async () => {
      res = await fetchWith(
        { DB: failingDb(env.DB, new FaultPlan(1)) },
        "GET",
        "/api/41/jobConfigurations.json?password=Hunter2-secret&fields=id",
        {
          headers: { Cookie: "JSESSIONID=cookie-secret-value" },
        },
      );
    });
    expect(res?.status).toBe(500);
    expect(await res?.json()).toEqual({
      httpStatus: "Internal Server Error",
      httpStatusCode: 500,
      status: "ERROR",
      message: "An internal error occurred.",
    });
    const logged = lines.json.filter((l) => l.event === "unhandled_error");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: "error",
      event: "unhandled_error",
      method: "GET",
      path: "/api/41/jobConfigurations.json",
      error: { name: "Error", message: expect.stringContaining("injected fault") },
    });
    expect(logged[0].error.stack).toMatch(/injected fault[\s\S]*\n\s+at /);
    const all = lines.raw.join("\n");
    for (const secret of ["Hunter2-secret", "cookie-secret-value", "district", btoa("admin:district")]) expect(all).not.toContain(secret);
  });

  it("a refused request (ApiError) is an answer, not an error: nothing is logged", async () => {
    const lines = await errorLines(() => fetchWith({}, "GET", "/api/jobConfigurations/notAnId12345"));
    expect(lines.raw).toEqual([]);
  });
});

describe("the Cron Trigger", () => {
  it("logs a failed task and fails its invocation; the other task still runs", async () => {
    const ctx = createExecutionContext();
    const controller = createScheduledController({ scheduledTime: Date.UTC(2035, 0, 1), cron: "* * * * *" });
    let thrown: unknown;
    const lines = await errorLines(async () => {
      try {
        await worker.scheduled(controller, { ...env, TASKS: downKv() }, ctx);
      } catch (e) {
        thrown = e;
      }
      await waitOnExecutionContext(ctx);
    });
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).toBe("Cron Trigger failed: taskCleanup");
    expect(lines.json).toEqual([
      {
        level: "error",
        event: "cron_task_failed",
        task: "taskCleanup",
        cron: "* * * * *",
        error: {
          name: "Error",
          message: "Task listings are temporarily unavailable; single tasks can still be read.",
          stack: expect.stringContaining("at cleanupTasks"),
        },
      },
    ]);
  });

  it("resolves and logs nothing when every task succeeds", async () => {
    const ctx = createExecutionContext();
    const controller = createScheduledController({ scheduledTime: Date.UTC(2035, 0, 1), cron: "* * * * *" });
    const lines = await errorLines(async () => {
      await worker.scheduled(controller, env, ctx);
      await waitOnExecutionContext(ctx);
    });
    expect(lines.raw).toEqual([]);
  });
});
