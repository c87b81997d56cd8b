/**
 * In-worker job handlers: what a run of each job type does inside the Worker. A registry keyed by
 * job type; implementations live in `src/jobs/handlers/<type>.ts` and follow the contract in
 * `src/jobs/contract.ts` (the run context, the result, the errors). Types without an in-worker
 * handler run on the external executor (the engine drives `beginExecutorRun` / `stepExecutorRun`),
 * which fails the run with E7010 and a clear message when no executor is configured — a run of an
 * unimplemented type never "completes".
 */
import type { JobHandler } from "../jobs/contract";
import { accountExpiryAlertHandler } from "../jobs/handlers/account-expiry-alert";
import { credentialsExpiryAlertHandler } from "../jobs/handlers/credentials-expiry-alert";
import { disableInactiveUsersHandler } from "../jobs/handlers/disable-inactive-users";
import { housekeepingHandler } from "../jobs/handlers/housekeeping";
import { removeExpiredHandler } from "../jobs/handlers/remove-expired";
import { testHandler } from "../jobs/handlers/test";

const HANDLERS: Record<string, JobHandler> = {
  TEST: testHandler,
  HOUSEKEEPING: housekeepingHandler,
  DISABLE_INACTIVE_USERS: disableInactiveUsersHandler,
  ACCOUNT_EXPIRY_ALERT: accountExpiryAlertHandler,
  CREDENTIALS_EXPIRY_ALERT: credentialsExpiryAlertHandler,
  REMOVE_USED_OR_EXPIRED_RESERVED_VALUES: removeExpiredHandler,
};

/** Tests may register extra handlers (e.g. a handler that blocks until told to finish). */
const overrides = new Map<string, JobHandler>();

export function registerJobHandler(jobType: string, handler: JobHandler | null): void {
  if (handler) overrides.set(jobType, handler);
  else overrides.delete(jobType);
}

/** The in-worker handler of a type; undefined: the type runs on the external executor. */
export function inWorkerHandler(jobType: string): JobHandler | undefined {
  return overrides.get(jobType) ?? HANDLERS[jobType];
}
