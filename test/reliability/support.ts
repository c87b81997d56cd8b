/**
 * Fault injection and consistency checks for the reliability tests (issue #8): a D1 binding that
 * fails its Nth statement, a job-object namespace whose RPCs throw, a KV namespace that is down,
 * and the "no job without an alarm, no alarm without a job" check over D1 and the job objects.
 */
import {
  createExecutionContext,
  env,
  listDurableObjectIds,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { app } from "../../src/app";
import { setClock } from "../../src/http/clock";
import { setPrewarmMs } from "../../src/scheduling/engine";
import { ensureBootstrapAdmin } from "../../src/users/bootstrap";
import type { JobObject } from "../../src/scheduling/job-object";
import { jobObject } from "../../src/scheduling/sync";
import { BASE, adminAuth } from "../helpers";

export const INJECTED = "injected fault";

/**
 * The end of a reliability test file: every job object drained (its run awaited) and its alarm
 * deleted, the real clock back and the prewarm restored to `prewarm`.
 */
export async function releaseJobObjects(prewarm: number): Promise<void> {
  for (const id of await listDurableObjectIds(env.JOBS)) {
    await runInDurableObject(env.JOBS.get(id), async (instance, state) => {
      await (instance as unknown as JobObject).idle?.();
      await state.storage.deleteAlarm();
    });
  }
  setClock(null);
  setPrewarmMs(prewarm);
}

/**
 * Counts statements executed through a D1 binding and throws on the `failAt`-th (1-based). With
 * `hold`, that statement gets no answer instead until `release()`, then runs: a D1 that answers late
 * (as the local D1 does during a burst of thousands of writes, holding its answers until it commits).
 */
export class FaultPlan {
  count = 0;
  failed = false;
  private held: Promise<void> | undefined;
  private releaseHeld: (() => void) | undefined;
  /** With `match`, only statements (or batches) whose SQL matches are counted. */
  constructor(
    public failAt: number,
    public match?: RegExp,
    public mode: "throw" | "hold" = "throw",
  ) {}
  /** Set once the held statement has run (after `release()`) and its answer was given. */
  heldAnswered = false;
  /** Whether this statement is the one held (its caller then reports `answered()`). */
  async tick(what: string, sql?: string): Promise<boolean> {
    if (this.match && !(sql !== undefined && this.match.test(sql))) return false;
    this.count++;
    if (this.count !== this.failAt) return false;
    this.failed = true;
    if (this.mode === "throw") throw new Error(`D1 ${what}: ${INJECTED} (statement ${this.count})`);
    this.held = new Promise((resolve) => (this.releaseHeld = resolve));
    await this.held;
    return true;
  }
  /** The held statement runs now. */
  release(): void {
    this.releaseHeld?.();
  }
  /** Runs a statement through the plan: counted, failed or held as planned. */
  async through<T>(what: string, sql: string | undefined, run: () => Promise<T>): Promise<T> {
    const held = await this.tick(what, sql);
    try {
      return await run();
    } finally {
      if (held) this.heldAnswered = true;
    }
  }
}

const REAL = Symbol("real statement");
const SQL = Symbol("sql");

function wrapStatement(stmt: D1PreparedStatement, plan: FaultPlan, sql: string): D1PreparedStatement {
  return new Proxy(stmt, {
    get(target, prop) {
      if (prop === REAL) return target;
      if (prop === SQL) return sql;
      if (prop === "bind") return (...args: unknown[]) => wrapStatement(target.bind(...args), plan, sql);
      if (prop === "run" || prop === "all" || prop === "first" || prop === "raw") {
        return (...args: unknown[]) => plan.through(String(prop), sql, () => (target as any)[prop](...args));
      }
      const v = (target as any)[prop];
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** A batch through the plan: counted once, then run with the real statements. */
function planBatch(run: (stmts: D1PreparedStatement[]) => Promise<D1Result[]>, plan: FaultPlan) {
  return (stmts: D1PreparedStatement[]) =>
    plan.through("batch", stmts.map((s) => String((s as any)[SQL] ?? "")).join(";\n"), () =>
      run(stmts.map((s) => ((s as any)[REAL] as D1PreparedStatement) ?? s)),
    );
}

/**
 * `env.DB` wrapped so that the plan's Nth statement (or batch) throws, also inside the D1 sessions
 * the request middleware opens (src/http/d1-session.ts).
 */
export function failingDb(real: D1Database, plan: FaultPlan): D1Database {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => wrapStatement(target.prepare(sql), plan, sql);
      if (prop === "batch") return planBatch((stmts) => target.batch(stmts), plan);
      if (prop === "withSession") {
        return (constraint?: string): D1DatabaseSession => {
          const session = target.withSession(constraint);
          return {
            prepare: (sql: string) => wrapStatement(session.prepare(sql), plan, sql),
            batch: planBatch((stmts) => session.batch(stmts), plan),
            getBookmark: () => session.getBookmark(),
          } as D1DatabaseSession;
        };
      }
      if (prop === "exec") {
        return (sql: string) => plan.through("exec", sql, () => target.exec(sql));
      }
      const v = (target as any)[prop];
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** `env.JOBS` whose object stubs throw on the named RPC methods (the object is unreachable). */
export function failingJobs<T extends Rpc.DurableObjectBranded | undefined>(
  real: DurableObjectNamespace<T>,
  methods: string[],
): DurableObjectNamespace<T> {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "get") {
        return (id: DurableObjectId) => {
          const stub = target.get(id);
          return new Proxy(stub, {
            get(s, p) {
              if (typeof p === "string" && methods.includes(p)) {
                return async () => {
                  throw new Error(`Durable Object ${p}: ${INJECTED}`);
                };
              }
              const v = (s as any)[p];
              return typeof v === "function" ? v.bind(s) : v;
            },
          });
        };
      }
      const v = (target as any)[prop];
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** A KV namespace that is down: every call rejects. */
export function downKv(): KVNamespace {
  const fail = async () => {
    throw new Error(`KV: ${INJECTED}`);
  };
  return { get: fail, getWithMetadata: fail, put: fail, delete: fail, list: fail } as unknown as KVNamespace;
}

/** Calls the app directly with a modified environment (the Worker entry would use the real one). */
export async function fetchWith(
  bindings: Partial<Env>,
  method: string,
  path: string,
  opts: { body?: unknown; auth?: string | null; headers?: Record<string, string> } = {},
): Promise<Response> {
  await ensureBootstrapAdmin(env, Date.now());
  const headers: Record<string, string> = { ...opts.headers };
  const auth = opts.auth === undefined ? adminAuth() : opts.auth;
  if (auth) headers.Authorization = auth;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["Content-Type"] ??= "application/json";
  }
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(BASE + path, { method, headers, body }), { ...env, ...bindings } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export async function alarmOf(uid: string): Promise<number | null> {
  return runInDurableObject(jobObject(env, uid), (_i, state) => state.storage.getAlarm());
}

export async function fireAlarm(uid: string): Promise<boolean> {
  return runDurableObjectAlarm(jobObject(env, uid));
}

/** Waits for the job object's current run, if any. */
export async function idle(uid: string): Promise<void> {
  await runInDurableObject(jobObject(env, uid), (instance) => (instance as unknown as JobObject).idle());
}

interface JobRowLite {
  uid: string;
  enabled: number;
  job_status: string;
  scheduling_type: string | null;
  cron_expression: string | null;
  delay: number | null;
  version: number;
}

/**
 * The scheduler's invariant for the given job UIDs: an enabled job with a schedule (CRON or
 * FIXED_DELAY) holds an alarm in its object; an object whose job is gone holds none.
 */
export async function alarmInconsistencies(uids: string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const uid of uids) {
    const row = await env.DB.prepare(
      `SELECT uid, enabled, job_status, scheduling_type, cron_expression, delay, version FROM job_configurations WHERE uid = ?`,
    )
      .bind(uid)
      .first<JobRowLite>();
    const alarm = await alarmOf(uid);
    const scheduled =
      row !== null && row.enabled === 1 && (row.cron_expression !== null || row.delay !== null) && row.scheduling_type !== "ONCE_ASAP";
    if (scheduled && alarm === null) problems.push(`job ${uid} (${row!.cron_expression ?? row!.delay}) has no alarm`);
    if (row === null && alarm !== null) problems.push(`alarm ${new Date(alarm).toISOString()} without job ${uid}`);
  }
  return problems;
}

/** Deletes the alarms of these jobs' objects (after waiting for their runs). */
export async function disarm(uids: Iterable<string>): Promise<void> {
  for (const uid of uids) {
    await runInDurableObject(jobObject(env, uid), async (instance, state) => {
      await (instance as unknown as JobObject).idle();
      await state.storage.deleteAlarm();
    });
  }
}

export async function isWebMessage(res: Response): Promise<{ ok: boolean; body: string }> {
  const body = await res.text();
  try {
    const m = JSON.parse(body);
    return {
      ok:
        m.httpStatusCode === res.status &&
        typeof m.httpStatus === "string" &&
        typeof m.status === "string" &&
        typeof m.message === "string",
      body,
    };
  } catch {
    return { ok: false, body };
  }
}
