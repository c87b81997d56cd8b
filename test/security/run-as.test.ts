/**
 * Issue 14, point 5 (run-as): `executedBy` is the caller unless a superuser sets it, and it must name
 * an existing user. A scheduling admin can no longer make a job run as someone else (who could then
 * read and cancel its runs), nor as the system superuser by leaving it empty.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { clearAllAlarms, uniqueCron } from "./fixtures";
import { admin, call, createRoleUser, type TestUser } from "./support";

let sched: TestUser;
let other: TestUser;

const jobBody = (extra: Record<string, unknown> = {}) => ({
  name: `Run-as ${crypto.randomUUID()}`,
  jobType: "DATA_INTEGRITY",
  cronExpression: uniqueCron(),
  ...extra,
});

const executedByOf = async (uid: string) =>
  (await env.DB.prepare(`SELECT executed_by FROM job_configurations WHERE uid = ?`).bind(uid).first<{ executed_by: string | null }>())
    ?.executed_by;

beforeAll(async () => {
  sched = await createRoleUser("RunAsSched1", "runas_sched", ["F_SCHEDULING_ADMIN"]);
  other = await createRoleUser("RunAsOther1", "runas_other", []);
});

describe("executedBy", () => {
  it("a scheduling admin cannot run a job as another user: 403, nothing written", async () => {
    const count = async () => (await env.DB.prepare(`SELECT COUNT(*) AS n FROM job_configurations`).first<{ n: number }>())!.n;
    const before = await count();
    const res = await call("POST", "/api/jobConfigurations", sched.auth, jobBody({ executedBy: other.uid }));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      httpStatus: "Forbidden",
      httpStatusCode: 403,
      status: "ERROR",
      errorCode: "E1006",
      message: "Only a superuser may run a job as another user (`executedBy`).",
    });
    expect(await count()).toBe(before);
  });

  it("is the caller when a non-superuser creates a job (never the system superuser by omission)", async () => {
    const res = await call("POST", "/api/jobConfigurations", sched.auth, jobBody());
    expect(res.status).toBe(201);
    const uid = ((await res.json()) as any).response.uid;
    expect(await executedByOf(uid)).toBe(sched.uid);
    const mine = await call("POST", "/api/jobConfigurations", sched.auth, jobBody({ executedBy: sched.uid }));
    expect(mine.status).toBe(201);
    await clearAllAlarms();
  });

  it("a superuser may choose the user, who must exist (409 E5002 otherwise)", async () => {
    const ok = await call("POST", "/api/jobConfigurations", admin(), jobBody({ executedBy: other.uid }));
    expect(ok.status).toBe(201);
    const uid = ((await ok.json()) as any).response.uid;
    expect(await executedByOf(uid)).toBe(other.uid);

    const ghost = await call("POST", "/api/jobConfigurations", admin(), jobBody({ executedBy: "NoSuchUsr01" }));
    expect(ghost.status).toBe(409);
    const reports = ((await ghost.json()) as any).response.errorReports;
    expect(reports.map((r: any) => [r.errorCode, r.errorProperty])).toEqual([["E5002", "executedBy"]]);
    expect(reports[0].message).toContain("Invalid reference [NoSuchUsr01] (User)");

    // PUT and PATCH are held to the same rules.
    const put = await call("PUT", `/api/jobConfigurations/${uid}`, admin(), jobBody({ executedBy: "NoSuchUsr02" }));
    expect(put.status).toBe(409);
    const patch = await call("PATCH", `/api/jobConfigurations/${uid}`, sched.auth, { executedBy: "NoSuchUsr03" });
    expect(patch.status).toBe(403);
    expect(await executedByOf(uid)).toBe(other.uid);
    await clearAllAlarms();
  });

  it("a non-superuser's update makes the job run as them; another user's UID is refused", async () => {
    const created = await call("POST", "/api/jobConfigurations", admin(), jobBody({ executedBy: other.uid }));
    const uid = ((await created.json()) as any).response.uid;
    const read: any = await (await call("GET", `/api/jobConfigurations/${uid}`, admin())).json();
    // The body read back unchanged (executedBy = the stored user) is accepted, and the caller takes over.
    const put = await call("PUT", `/api/jobConfigurations/${uid}`, sched.auth, { ...read, name: `${read.name} (edited)` });
    expect(put.status).toBe(200);
    expect(await executedByOf(uid)).toBe(sched.uid);
    const steal = await call("PUT", `/api/jobConfigurations/${uid}`, sched.auth, { ...read, executedBy: other.uid });
    expect(steal.status).toBe(403);
    expect(await executedByOf(uid)).toBe(sched.uid);
    await clearAllAlarms();
  });
});
