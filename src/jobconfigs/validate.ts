/**
 * Reading and validating a job configuration body (POST, PUT, PATCH). Input is read the way
 * DHIS2's Jackson does (unknown and read-only members ignored, `""` absent, numeric strings are
 * numbers); every problem of one request is collected into one list of ErrorReports.
 */
import type { ErrorReport } from "../http/webmessage";
import { ApiError, echo, forbidden } from "../http/webmessage";
import { isValidUid } from "../http/uid";
import { errorReport, JOB_CONFIGURATION_KLASS } from "../jobs/errors";
import { CONFIGURABLE_JOB_TYPE_NAMES, findJobType } from "../jobs/registry";
import type { JobTypeDef } from "../jobs/types";
import { validateCron } from "../scheduling/cron";
import type { JobRow, JobWrite } from "./store";

export const NAME_MAX_LENGTH = 230;
export const CODE_MAX_LENGTH = 50;
export const CRON_MAX_LENGTH = 255;
const INT_MAX = 2147483647;

const K = JOB_CONFIGURATION_KLASS;

const report = (code: string, args: unknown[], property: string, message?: string) =>
  errorReport(K, code, args, { errorProperty: property, ...(message ? { message } : {}) });

/** A JSON scalar read as a Java String: `""`/null absent, numbers and booleans as text. */
function readString(body: Record<string, unknown>, key: string, errors: ErrorReport[]): string | undefined {
  const v = body[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  errors.push(report("E1003", [key, "expected a string"], key));
  return undefined;
}

function readInt(body: Record<string, unknown>, key: string, errors: ErrorReport[]): number | undefined {
  const v = body[key];
  if (v === undefined || v === null || v === "") return undefined;
  let n: number | undefined;
  if (typeof v === "number") n = v;
  else if (typeof v === "string" && /^\s*[+-]?\d+(\.0+)?\s*$/.test(v)) n = Number(v);
  if (n === undefined || !Number.isInteger(n)) {
    errors.push(report("E1003", [key, "expected a whole number"], key));
    return undefined;
  }
  if (n > INT_MAX || n < -INT_MAX - 1) {
    errors.push(report("E4008", [key, 1, INT_MAX, n], key));
    return undefined;
  }
  return n;
}

function readBool(body: Record<string, unknown>, key: string, errors: ErrorReport[]): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "boolean") return v;
  if (v === "true" || v === "false") return v === "true";
  errors.push(report("E1003", [key, "expected true or false"], key));
  return undefined;
}

export interface ValidationResult {
  write: JobWrite;
  /** `enabled` from the body (create only; PUT never changes it). */
  enabled: boolean;
  errors: ErrorReport[];
  type?: JobTypeDef;
}

export interface ValidateOptions {
  body: Record<string, unknown>;
  /** The job being updated; absent on create. */
  existing?: JobRow;
  /** UID of the job (client-supplied or generated on create). */
  uid: string;
  /** The caller's UID (becomes `executedBy`, see `readJobBody`). */
  userUid: string;
  /** Whether the caller is a superuser (only they may run a job as someone else, or as the system). */
  superuser: boolean;
}

/** 409 `Job … must be configurable but was not.` (DHIS2 checks this before the import, alone). */
export function notConfigurable(label: string): ApiError {
  return new ApiError(409, `Job ${label} must be configurable but was not.`, { errorCode: "E1004" });
}

const VALID_TYPES = () => `[${CONFIGURABLE_JOB_TYPE_NAMES.join(", ")}]`;

/**
 * Reads the body into the values to write. Structural and per-type problems go into `errors`; the
 * uniqueness checks against other rows are added by the caller (they need D1).
 */
export function readJobBody(opts: ValidateOptions): ValidationResult {
  const { body, existing, uid } = opts;
  const errors: ErrorReport[] = [];

  // Identity: a client id on create must be a UID.
  if (!existing && body.id !== undefined && body.id !== null && body.id !== "" && !isValidUid(body.id)) {
    errors.push(report("E4014", [echo(body.id), "id"], "id"));
  }

  const name = readString(body, "name", errors);
  if (name === undefined) {
    if (!errors.some((e) => e.errorProperty === "name")) errors.push(report("E4000", ["name"], "name"));
  } else if (name.length > NAME_MAX_LENGTH) {
    errors.push(report("E4001", ["name", NAME_MAX_LENGTH, name.length], "name"));
  }
  const code = readString(body, "code", errors);
  if (code !== undefined && code.length > CODE_MAX_LENGTH) errors.push(report("E4001", ["code", CODE_MAX_LENGTH, code.length], "code"));

  // Job type: fixed on update; on create it must be a known, user-configurable type.
  let type: JobTypeDef | undefined;
  if (existing) {
    type = findJobType(existing.job_type);
  } else {
    const raw = body.jobType;
    if (raw === undefined || raw === null || raw === "") {
      errors.push(report("E4000", ["jobType"], "jobType", `Missing required property \`jobType\`. Valid values are: ${VALID_TYPES()}`));
    } else if (typeof raw !== "string" || !findJobType(raw)) {
      errors.push(
        report(
          "E1003",
          ["jobType", `Valid values are: ${VALID_TYPES()}`],
          "jobType",
          `Unknown job type \`${echo(raw)}\`. Valid values are: ${VALID_TYPES()}`,
        ),
      );
    } else {
      type = findJobType(raw);
      if (type && !type.configurable) throw notConfigurable(name ?? uid);
    }
  }

  // Schedule.
  const cronText = readString(body, "cronExpression", errors);
  const cron = cronText === undefined || cronText.trim() === "" ? null : cronText;
  const delay = readInt(body, "delay", errors);
  let explicitType: string | undefined;
  const rawType = readString(body, "schedulingType", errors);
  if (rawType !== undefined) {
    const t = rawType.trim().toUpperCase();
    if (t === "CRON" || t === "FIXED_DELAY" || t === "ONCE_ASAP") explicitType = t;
    else errors.push(report("E1003", ["schedulingType", "Valid values are: [CRON, FIXED_DELAY, ONCE_ASAP]"], "schedulingType"));
  }
  // ONCE_ASAP is a run state (execute-now), not something a client schedules: derive instead.
  const schedulingType =
    explicitType === "CRON" || explicitType === "FIXED_DELAY"
      ? explicitType
      : cron !== null
        ? "CRON"
        : delay !== undefined
          ? "FIXED_DELAY"
          : "ONCE_ASAP";
  if (schedulingType === "CRON" && cron === null && !errors.some((e) => e.errorProperty === "cronExpression")) {
    errors.push(report("E7004", [uid], "cronExpression"));
  }
  if (cron !== null) {
    if (cron.length > CRON_MAX_LENGTH) {
      errors.push(report("E4001", ["cronExpression", CRON_MAX_LENGTH, cron.length], "cronExpression"));
    } else {
      const problem = validateCron(cron);
      if (problem !== null) errors.push(report("E7005", [problem], "cronExpression"));
    }
  }
  if (schedulingType === "FIXED_DELAY" && delay === undefined && !errors.some((e) => e.errorProperty === "delay")) {
    errors.push(report("E7007", [uid], "delay"));
  }
  // Beyond DHIS2: a delay of 0 or less would never run (or spin); require a positive number of seconds.
  if (delay !== undefined && delay < 1) errors.push(report("E4008", ["delay", 1, INT_MAX, delay], "delay"));

  // Parameters (only types with a parameters class have any).
  let jobParameters: string | null = null;
  if (type?.parameters) {
    const parsed = type.parameters.parse(body.jobParameters);
    errors.push(...parsed.errors);
    jobParameters = JSON.stringify(parsed.value);
  }

  // Who the job runs as: the caller, unless a superuser says otherwise (the user must exist: checked
  // against D1 by the caller of this function).
  const requested = readString(body, "executedBy", errors) ?? null;
  if (requested !== null && !isValidUid(requested)) errors.push(report("E4014", [echo(requested), "executedBy"], "executedBy"));
  let executedBy = requested;
  if (!opts.superuser) {
    // Another user's UID is refused, unless it is the stored value sent back unchanged; either way a
    // non-superuser's write makes the job run as that caller.
    if (requested !== null && requested !== opts.userUid && requested !== existing?.executed_by) {
      throw forbidden("Only a superuser may run a job as another user (`executedBy`).");
    }
    executedBy = opts.userUid;
  } else if (executedBy === null && type?.executedByCreator) executedBy = existing?.executed_by ?? opts.userUid;

  const enabled = existing ? existing.enabled === 1 : (readBool(body, "enabled", errors) ?? true);

  return {
    write: {
      uid,
      name: name ?? "",
      code: code ?? null,
      jobType: type?.jobType ?? (typeof body.jobType === "string" ? body.jobType : ""),
      schedulingType,
      cronExpression: cron,
      delay: delay ?? null,
      jobParameters,
      executedBy,
    },
    enabled,
    errors,
    type,
  };
}

/** The stored status for a job that is not running: DISABLED, NOT_STARTED (run-once) or SCHEDULED. */
export function idleJobStatus(enabled: boolean, schedulingType: string): string {
  if (!enabled) return "DISABLED";
  return schedulingType === "ONCE_ASAP" ? "NOT_STARTED" : "SCHEDULED";
}

export function duplicateNameReport(name: string, uid: string, owner: string): ErrorReport {
  return report("E5003", ["name", name, `${name} [${uid}] (JobConfiguration)`, owner], "name");
}

export function duplicateCodeReport(code: string, uid: string, owner: string): ErrorReport {
  return report("E5003", ["code", code, `${code} [${uid}] (JobConfiguration)`, owner], "code");
}

export function duplicateCronReport(cron: string): ErrorReport {
  return report("E7000", [cron], "cronExpression");
}

/** `executedBy` names no user (DHIS2's E5002 invalid reference). */
export function unknownExecutingUserReport(uid: string, executedBy: string): ErrorReport {
  return errorReport(K, "E5002", [executedBy, "(User)", uid, "(JobConfiguration)", "executedBy"], {
    errorProperty: "executedBy",
    errorKlass: "org.hisp.dhis.user.User",
    message: `Invalid reference [${executedBy}] (User) on object ${uid} (JobConfiguration) for association \`executedBy\`.`,
  });
}

export function uidTakenReport(uid: string): ErrorReport {
  return report(
    "E5000",
    [uid],
    "id",
    `Found matching object for given reference, but import mode is CREATE. Identifier was UID, and object was \`${uid}\`.`,
  );
}
