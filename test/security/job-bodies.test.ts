/**
 * Hostile job configuration bodies, type by type (issue #8). The job types and their parameters are
 * read from the app itself (`GET /api/jobConfigurations/jobTypes`); fast-check builds bodies that
 * are valid in shape and hostile in content (wrong types, numbers as strings, null, huge strings,
 * SQL, prototype-pollution keys, unknown constants, wrong scheduling members) and sends them as
 * POST, PUT and PATCH. Every answer is 2xx or a 4xx WebMessage; a refused write changes nothing.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clearAllAlarms, createJob, uniqueCron } from "./fixtures";
import { admin, diffSnapshots, ensureRoleUsers, send, snapshot, violation } from "./support";

const SEED = 0x5eed_b0d1;
const RUNS = 150;
const TIME_LIMIT_MS = 12_000;

interface JobParam {
  name: string;
  klass: string;
  propertyType: string;
  collection: boolean;
  constants?: string[];
  min?: number;
  max?: number;
}
interface JobTypeInfo {
  jobType: string;
  jobParameters?: JobParam[];
}

let types: JobTypeInfo[] = [];
let target: string;

const SQL = ["' OR '1'='1", "'; DROP TABLE job_configurations; --", "1) UNION SELECT password_hash FROM users --"];
const hostile = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    "",
    " ",
    true,
    false,
    0,
    -1,
    -2147483649,
    2147483648,
    1e308,
    0.5,
    "12",
    "-3",
    "1e3",
    "NaN",
    "true",
    "null",
    [],
    {},
    [null],
    ...SQL,
  ),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.integer({ min: 300, max: 100_000 }).map((n) => "P".repeat(n)),
  fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.constant(null)), { maxLength: 30 }),
  fc.dictionary(fc.constantFrom("__proto__", "constructor", "prototype", "x"), fc.constant({ polluted: true }), { maxKeys: 2 }),
);

/** A plausible value for a parameter, then sometimes a hostile one instead. */
function paramValue(p: JobParam): fc.Arbitrary<unknown> {
  let good: fc.Arbitrary<unknown>;
  if (p.constants?.length) good = p.collection ? fc.subarray(p.constants) : fc.constantFrom(...p.constants);
  else if (/Integer|Long|int|Double/i.test(p.klass)) good = fc.integer({ min: p.min ?? -5, max: p.max ?? 1000 });
  else if (/Boolean/i.test(p.klass)) good = fc.boolean();
  else if (p.collection) good = fc.array(fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9]{10}$/), { maxLength: 5 });
  else good = fc.string({ maxLength: 30 });
  return fc.oneof({ weight: 2, arbitrary: good }, { weight: 1, arbitrary: hostile });
}

function parametersFor(t: JobTypeInfo): fc.Arbitrary<unknown> {
  const params = t.jobParameters ?? [];
  const obj = params.length
    ? fc.record(Object.fromEntries(params.map((p) => [p.name, paramValue(p)])) as Record<string, fc.Arbitrary<unknown>>, {
        requiredKeys: [],
      })
    : fc.constant({});
  return fc.oneof({ weight: 4, arbitrary: obj }, { weight: 1, arbitrary: hostile });
}

interface BodyCase {
  method: "POST" | "PUT" | "PATCH";
  body: Record<string, unknown>;
  label: string;
}

function bodyCase(): fc.Arbitrary<BodyCase> {
  return fc.constantFrom(...types).chain((t) =>
    fc
      .record({
        method: fc.constantFrom<"POST" | "PUT" | "PATCH">("POST", "PUT", "PATCH"),
        name: fc.oneof(
          { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 40 }).map((s) => `Body ${s}`) },
          { weight: 1, arbitrary: hostile },
        ),
        jobType: fc.oneof(
          { weight: 5, arbitrary: fc.constant<unknown>(t.jobType) },
          { weight: 1, arbitrary: fc.oneof(fc.constant<unknown>(t.jobType.toLowerCase()), hostile) },
        ),
        schedule: fc.oneof(
          fc.constant<Record<string, unknown>>({ cronExpression: "" }),
          fc
            .constantFrom(
              "0 0 1 ? * MON-FRI",
              "0 */5 * * * *",
              "* * * * * ?",
              "0 0 25 * * ?",
              "0 0 1 L * ?",
              "0 0 1 ? * 6#3",
              "bad cron",
              "0 0 1 * * ? 2030",
            )
            .map((c) => ({ cronExpression: c })),
          hostile.map((v) => ({ cronExpression: v })),
          fc.oneof(fc.integer({ min: -10, max: 100_000 }), hostile).map((d) => ({ delay: d, schedulingType: "FIXED_DELAY" })),
          fc.constant<Record<string, unknown>>({ schedulingType: "ONCE_ASAP" }),
          hostile.map((v) => ({ schedulingType: v })),
        ),
        jobParameters: parametersFor(t),
        extra: fc.dictionary(
          fc.constantFrom(
            "enabled",
            "id",
            "code",
            "executedBy",
            "jobStatus",
            "lastExecuted",
            "queueName",
            "system",
            "__proto__",
            "constructor",
            "sharing",
            "userUid",
          ),
          hostile,
          { maxKeys: 3 },
        ),
      })
      .map(({ method, name, jobType, schedule, jobParameters, extra }) => {
        const body: Record<string, unknown> = { name, jobType, ...schedule, jobParameters, ...extra };
        const c: BodyCase = { method, body, label: `${method} ${JSON.stringify(body).slice(0, 400)}` };
        Object.defineProperty(c, fc.toStringMethod, { value: () => c.label });
        return c;
      }),
  );
}

async function runBodyCase(c: BodyCase): Promise<void> {
  const path = c.method === "POST" ? "/api/jobConfigurations" : `/api/jobConfigurations/${target}`;
  const before = await snapshot();
  const res = await send({
    method: c.method,
    target: path,
    headers: { Authorization: admin(), "Content-Type": "application/json" },
    body: JSON.stringify(c.body),
  });
  const status = res.status;
  const problem = await violation(res, c.method);
  if (problem) throw new Error(`${problem}\n  case: ${c.label}`);
  if (status >= 400) {
    const after = await snapshot();
    if (after !== before)
      throw new Error(`rejected ${c.method} (${status}) changed stored data:\n${diffSnapshots(before, after)}\n  case: ${c.label}`);
  }
  expect(({} as any).polluted).toBeUndefined();
}

describe(`hostile job configuration bodies (seed ${SEED})`, () => {
  beforeAll(async () => {
    await ensureRoleUsers();
    const res = await send({ method: "GET", target: "/api/jobConfigurations/jobTypes", headers: { Authorization: admin() } });
    if (res.status === 200) types = ((await res.json()) as { jobTypes: JobTypeInfo[] }).jobTypes;
    target = await createJob(`Body target ${Date.now()}`, { cronExpression: uniqueCron() });
  });
  afterAll(async () => {
    await clearAllAlarms();
  });

  it("every configurable job type, hostile parameters and schedules, as POST, PUT and PATCH", async () => {
    if (types.length === 0) return; // job types endpoint not there
    const out = await fc.check(fc.asyncProperty(bodyCase(), runBodyCase), {
      seed: SEED,
      numRuns: RUNS,
      endOnFailure: true,
      interruptAfterTimeLimit: TIME_LIMIT_MS,
      markInterruptAsFailure: false,
    });
    if (out.failed) throw new Error(fc.defaultReportMessage(out) ?? "property failed");
    console.log(`job bodies, seed ${SEED}: ${out.numRuns} cases over ${types.length} job types${out.interrupted ? " (time limit)" : ""}`);
    expect(out.numRuns).toBeGreaterThanOrEqual(10);
  });
});
