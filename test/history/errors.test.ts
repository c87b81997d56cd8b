/**
 * Job errors (issue 13 point 5, DHIS2 2.41+): `GET /api/jobConfigurations/errors`,
 * `/{id}/errors` and `/{id}/progress/errors`, fed by the progress API's `addError` of real runs.
 * The first describe block ports DHIS2's JobConfigurationRunErrorsControllerTest (2.42): a
 * METADATA_IMPORT run, executed by the superuser, that reports E4000 for an organisation unit; read
 * as a user with F_JOB_LOG_READ. (DHIS2 runs a real metadata import; here an in-worker handler
 * reports the same error. Its dates are in 2023/2033 around today; ours around the tests' 2035.)
 */
import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type JobRunContext, MAX_ITEM_ERRORS } from "../../src/jobs/contract";
import { registerJobHandler } from "../../src/scheduling/handlers";
import { syncJobObject } from "../../src/scheduling/sync";
import { api } from "../helpers";
import {
  T0,
  adminUid,
  fire,
  gate,
  insertJob,
  insertRunningJob,
  leaveRunMarker,
  row,
  schedulerTestLifecycle,
  stub,
  until,
  userWith,
} from "../scheduling/support";

const clk = schedulerTestLifecycle(["METADATA_IMPORT", "TRACKER_IMPORT_JOB"]);

/** What the METADATA_IMPORT handler reports, per job name (default: DHIS2's test's one error). */
const reports = new Map<string, (ctx: JobRunContext) => Promise<void> | void>();
const OU = "Rp268JB6Ne4";
const DAILY = "0 0 0 * * *";

async function importHandler(ctx: JobRunContext): Promise<{ message: string }> {
  const report = reports.get(ctx.jobName) ?? ((c: JobRunContext) => c.progress.addError("E4000", OU, "OrganisationUnit", ["openingDate"]));
  await report(ctx);
  return { message: "Import done" };
}

beforeEach(() => {
  reports.clear();
  registerJobHandler("METADATA_IMPORT", importHandler);
  registerJobHandler("TRACKER_IMPORT_JOB", importHandler);
});

/** Creates a METADATA_IMPORT job that runs as `executedBy` (default admin) and runs it now; returns its UID. */
async function runImport(name = "import", executedBy?: string): Promise<string> {
  const uid = await insertJob({ name, jobType: "METADATA_IMPORT", cron: DAILY, executedBy: executedBy ?? (await adminUid()) });
  await runAgain(uid);
  return uid;
}

async function runAgain(uid: string): Promise<void> {
  await syncJobObject(env, uid);
  expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status).toBe(200);
  clk.advance(1000);
  await fire(uid);
}

async function get(path: string, auth?: string): Promise<{ status: number; body: any }> {
  const res = await api(path, auth ? { auth } : {});
  return { status: res.status, body: await res.json() };
}

describe("DHIS2's JobConfigurationRunErrorsControllerTest, ported", () => {
  let jobId: string;
  let special: { auth: string; uid: string };
  beforeAll(async () => {
    special = await userWith("special-admin", ["F_JOB_LOG_READ"]);
  });
  beforeEach(async () => {
    jobId = await runImport();
  });
  const list = async (query = "") => {
    const { status, body } = await get(`/api/jobConfigurations/errors${query}`, special.auth);
    expect(status, JSON.stringify(body)).toBe(200);
    return body as any[];
  };

  it("testGetJobRunErrors_List", async () => {
    const entries = await list();
    expect(entries).toHaveLength(1);
    const [job] = entries;
    expect(job.id).toBe(jobId);
    expect(job.type).toBe("METADATA_IMPORT");
    expect(job.codes).toBe("ErrorCode");
    expect(job.errors).toHaveLength(1);
    expect(job.errors[0]).toEqual({
      code: "E4000",
      id: OU,
      type: "OrganisationUnit",
      args: ["openingDate"],
      message: "Missing required property `openingDate`",
    });
  });

  it("testGetJobRunErrors_ListFilterUser", async () => {
    expect(await list(`?user=${await adminUid()}`)).toHaveLength(1);
    expect(await list("?user=abcde123456")).toHaveLength(0);
  });

  it("testGetJobRunErrors_ListFilterFrom", async () => {
    expect(await list("?from=2034-01-01")).toHaveLength(1);
    expect(await list("?from=2036-01-01")).toHaveLength(0);
  });

  it("testGetJobRunErrors_ListFilterTo", async () => {
    expect(await list("?to=2036-01-01")).toHaveLength(1);
    expect(await list("?to=2034-01-01")).toHaveLength(0);
  });

  it("testGetJobRunErrors_ListFilterCode", async () => {
    expect(await list("?code=E4000")).toHaveLength(1);
    expect(await list("?code=E5000")).toHaveLength(0);
  });

  it("testGetJobRunErrors_ListFilterType", async () => {
    expect(await list("?type=METADATA_IMPORT")).toHaveLength(1);
    expect(await list("?type=DATA_INTEGRITY")).toHaveLength(0);
  });

  it("testGetJobRunErrors_Object", async () => {
    const { status, body: job } = await get(`/api/jobConfigurations/${jobId}/errors`, special.auth);
    expect(status).toBe(200);
    expect(job.id).toBe(jobId);
    expect(job.type).toBe("METADATA_IMPORT");
    for (const member of ["created", "executed", "finished", "user", "filesize", "filetype"]) expect(job).toHaveProperty(member);
    expect(job.errors).toHaveLength(1);
  });

  it("testGetJobRunErrors_ObjectProgressErrors", async () => {
    const { status, body } = await get(`/api/jobConfigurations/${jobId}/progress/errors`, special.auth);
    expect(status).toBe(200);
    expect(Array.isArray(body)).toBe(true);
    expect(body).toHaveLength(1);
  });

  it("testGetJobRunErrors_RequireAuthority", async () => {
    const guest = await userWith("guest", []);
    for (const path of ["/errors", `/${jobId}/errors`, `/${jobId}/progress/errors`, `/${jobId}/progress`]) {
      expect((await api(`/api/jobConfigurations${path}`, { auth: guest.auth })).status, path).toBe(403);
    }
  });

  it("testGetJobRunErrors_ListIncludeInput (the input here: the job's parameters)", async () => {
    reports.set("tracker", (c) => c.progress.addError("E1000", "sHH8mh1Fn0z", "TrackedEntity", ["x"]));
    const trackerId = await insertJob({
      name: "tracker",
      jobType: "TRACKER_IMPORT_JOB",
      cron: DAILY,
      parameters: { trackedEntities: [{ trackedEntity: "sHH8mh1Fn0z", orgUnit: "DiszpKrYNg7" }] },
    });
    await runAgain(trackerId);
    const errors = await list("?includeInput=true");
    expect(errors).toHaveLength(2);
    const tracker = errors.find((e) => e.id === trackerId);
    expect(tracker).toMatchObject({
      codes: "ValidationCode",
      input: { trackedEntities: [{ trackedEntity: "sHH8mh1Fn0z", orgUnit: "DiszpKrYNg7" }] },
    });
    expect(errors.find((e) => e.id === jobId).input).toBeNull();
    expect((await list()).map((e) => e.input)).toEqual([null, null]);
  });
});

describe("job errors", () => {
  it("an entry has DHIS2's members: dates in the server zone, nulls where DHIS2 has them", async () => {
    const uid = await insertJob({ name: "import", jobType: "METADATA_IMPORT", cron: DAILY, created: T0 - 5000 });
    await runAgain(uid);
    expect((await get(`/api/jobConfigurations/${uid}/errors`)).body).toEqual({
      id: uid,
      type: "METADATA_IMPORT",
      user: null,
      created: "2034-12-31T23:59:55.000",
      executed: "2035-01-01T00:00:01.000",
      finished: "2035-01-01T00:00:01.000",
      file: null,
      filesize: null,
      filetype: null,
      codes: "ErrorCode",
      errors: [
        { code: "E4000", id: OU, type: "OrganisationUnit", args: ["openingDate"], message: "Missing required property `openingDate`" },
      ],
      input: null,
    });
  });

  it("the last finished run counts: a run in progress keeps the previous errors in view; a clean run clears them", async () => {
    const uid = await runImport("again");
    const g = gate();
    reports.set("again", async (c) => {
      await g.promise;
      c.progress.addError("E5003", "abcdefghijk", "OrganisationUnit", ["name", "x", "a", "b"]);
    });
    expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status).toBe(200);
    clk.advance(1000);
    const running = fire(uid);
    await until(async () => (await row(uid))!.job_status === "RUNNING");
    expect((await get(`/api/jobConfigurations/${uid}/errors`)).body.errors.map((e: any) => e.code)).toEqual(["E4000"]);
    g.open();
    await running;
    expect((await get(`/api/jobConfigurations/${uid}/errors`)).body.errors.map((e: any) => e.code)).toEqual(["E5003"]);
    reports.set("again", () => {});
    await runAgain(uid);
    expect((await get(`/api/jobConfigurations/${uid}/errors`)).body).toEqual({});
    expect((await get("/api/jobConfigurations/errors")).body).toEqual([]);
    expect((await get(`/api/jobConfigurations/${uid}/progress/errors`)).body).toEqual([]);
    // The run history keeps how many each run reported.
    const runs = (await get(`/api/jobConfigurations/${uid}/runs`)).body.runs;
    expect(runs.map((r: any) => r.itemErrors ?? 0)).toEqual([0, 1, 1]);
  });

  it("object and code filters match any of their values; several filters must all match", async () => {
    const a = await runImport("a");
    reports.set("b", (c) => {
      c.progress.addError("E5003", "bbbbbbbbbb1", "DataElement", ["name", "x", "y", "z"]);
      c.progress.addError("E4000", "bbbbbbbbbb2", "DataElement", ["shortName"]);
    });
    const b = await runImport("b");
    const ids = async (q: string) => ((await get(`/api/jobConfigurations/errors${q}`)).body as any[]).map((e) => e.id);
    expect(await ids("")).toEqual([b, a]); // newest start first
    expect(await ids(`?object=${OU}`)).toEqual([a]);
    expect(await ids(`?object=bbbbbbbbbb2&object=${OU}`)).toEqual([b, a]);
    expect(await ids("?code=E5003")).toEqual([b]);
    expect(await ids("?code=E9999,E4000")).toEqual([b, a]);
    expect(await ids(`?code=E5003&object=${OU}`)).toEqual([]);
    expect(await ids("?type=metadata_import,DATA_INTEGRITY")).toEqual([b, a]);
  });

  it("the executing user reads their job's errors and progress errors, but not the list; the progress tree shows errors to log readers only", async () => {
    const owner = await userWith("err_owner", []);
    const uid = await runImport("owned", owner.uid);
    expect((await get(`/api/jobConfigurations/${uid}/errors`, owner.auth)).body.errors).toHaveLength(1);
    expect((await get(`/api/jobConfigurations/${uid}/progress/errors`, owner.auth)).body).toEqual([
      { code: "E4000", id: OU, type: "OrganisationUnit", args: ["openingDate"] },
    ]);
    const denied = await get("/api/jobConfigurations/errors", owner.auth);
    expect(denied).toEqual({
      status: 403,
      body: {
        httpStatus: "Forbidden",
        httpStatusCode: 403,
        status: "ERROR",
        errorCode: "E1006",
        message: "Access is denied, requires one Authority from [F_JOB_LOG_READ]",
      },
    });
    expect((await get(`/api/jobConfigurations/${uid}/progress`, owner.auth)).body.errors).toEqual({});
    expect((await get(`/api/jobConfigurations/${uid}/progress`)).body.errors).toEqual({
      [OU]: { E4000: [{ code: "E4000", id: OU, type: "OrganisationUnit", args: ["openingDate"] }] },
    });
    const missing = await get("/api/jobConfigurations/AbCdEfGhIj1/errors");
    expect(missing.status).toBe(404);
    expect((await get("/api/jobConfigurations/AbCdEfGhIj1/progress/errors")).status).toBe(404);
  });

  it("a run keeps each error once and at most MAX_ITEM_ERRORS; the history counts every report", async () => {
    reports.set("many", (c) => {
      for (let i = 0; i < MAX_ITEM_ERRORS + 50; i++)
        c.progress.addError("E4000", `ou${String(i).padStart(9, "0")}`, "OrganisationUnit", ["name"]);
      c.progress.addError("E4000", "ou000000000", "OrganisationUnit", ["name"]); // the same error again
      c.progress.addError("E4000", "ou000000000", "OrganisationUnit", ["code"]); // another one, past the cap
    });
    const uid = await runImport("many");
    const entry = (await get(`/api/jobConfigurations/${uid}/errors`)).body;
    expect(entry.errors).toHaveLength(MAX_ITEM_ERRORS);
    expect(entry.errors.at(-1).id).toBe(`ou${String(MAX_ITEM_ERRORS - 1).padStart(9, "0")}`);
    expect((await get(`/api/jobConfigurations/${uid}/runs`)).body.runs[0].itemErrors).toBe(MAX_ITEM_ERRORS + 51);
  });

  it("a run lost with its object keeps the errors its object saved; an older run's tree is not taken for it", async () => {
    const tree = (startedTime: number) => ({
      jobId: "",
      jobType: "METADATA_IMPORT",
      description: "lost",
      status: "RUNNING",
      startedTime,
      stages: [],
      errors: [
        { code: "E4000", id: OU, type: "OrganisationUnit", args: ["openingDate"], message: "Missing required property `openingDate`" },
      ],
      errorCount: 1,
    });
    const lostAt = async (treeStarted: number) => {
      const uid = await insertRunningJob(T0 - 1000, T0 - 1000, "METADATA_IMPORT");
      await syncJobObject(env, uid);
      await leaveRunMarker(uid, T0 - 1000);
      await runInDurableObject(stub(uid), (instance) => (instance as any).engine.saveProgress({ ...tree(treeStarted), jobId: uid }));
      await syncJobObject(env, uid); // the next contact finds the marker without a live run: FAILED, E7012
      return uid;
    };
    const lost = await lostAt(T0 - 1000);
    expect((await get(`/api/jobConfigurations/${lost}/errors`)).body.errors).toEqual([
      { code: "E4000", id: OU, type: "OrganisationUnit", args: ["openingDate"], message: "Missing required property `openingDate`" },
    ]);
    expect((await get(`/api/jobConfigurations/${lost}/runs`)).body.runs[0]).toMatchObject({
      status: "FAILED",
      errorCodes: ["E7012"],
      itemErrors: 1,
    });
    const older = await lostAt(T0 - 5000); // the tree of an earlier run: not this run's errors
    expect((await get(`/api/jobConfigurations/${older}/errors`)).body).toEqual({});
  });

  it("refuses bad filters with a 400 WebMessage (E1003)", async () => {
    const cases: [string, string][] = [
      ["user=nope", "Value 'nope' is not valid for parameter user. UID must be an alphanumeric string of 11 characters"],
      ["object=a,b", "Value 'a,b' is not valid for parameter object. Invalid UID `a`: UID must be an alphanumeric string of 11 characters"],
      ["type=NOPE", "Value 'NOPE' is not valid for parameter type. No enum constant org.hisp.dhis.scheduling.JobType.NOPE"],
      [
        "from=yesterday",
        "Value 'yesterday' is not valid for parameter from. Not a date: use yyyy-MM-dd, yyyy-MM-ddTHH:mm:ss[.SSS] or an ISO 8601 instant",
      ],
      ["includeInput=maybe", "Value 'maybe' is not valid for parameter includeInput. Invalid boolean value 'maybe'"],
      [
        `code=${"E".repeat(65)}`,
        `Value '${"E".repeat(65)}' is not valid for parameter code. Invalid error code \`${"E".repeat(65)}\`: 1 to 64 characters of [A-Za-z0-9_.-]`,
      ],
      [
        "code=E4000,E%205",
        "Value 'E4000,E 5' is not valid for parameter code. Invalid error code `E 5`: 1 to 64 characters of [A-Za-z0-9_.-]",
      ],
    ];
    for (const [query, message] of cases) {
      expect((await get(`/api/jobConfigurations/errors?${query}`)).body, query).toEqual({
        httpStatus: "Bad Request",
        httpStatusCode: 400,
        status: "ERROR",
        errorCode: "E1003",
        message,
      });
    }
  });
});
