/**
 * What queues plug into the scheduler (registered at the Worker's entry, src/index.ts):
 * - `queueContinuation`, a run listener: the end of a queued job's run (RUN_ENDED, RUN_LOST,
 *   RUN_RECOVERED) continues its queue run or ends it (`onQueueMemberFinished`, idempotent, so an
 *   event delivered twice does nothing new);
 * - `queueHeadGuard`, a start guard: a queue's head does not start a new queue run while the previous
 *   one is still going (a member RUNNING or a start pending); it waits like a busy job type.
 */
import type { StartGuard } from "../scheduling/hooks";
import { isRunEnd, type RunListener } from "../scheduling/run-events";
import { onQueueMemberFinished, queueBusy } from "./runs";

export const queueContinuation: RunListener = {
  name: "queue-continuation",
  accepts: (event) => isRunEnd(event) && event.queue !== undefined,
  async handle(event, { env, now }) {
    if (!isRunEnd(event)) return;
    await onQueueMemberFinished(env, event.jobId, event.status, now, { startedAt: event.startedAt });
  },
};

export const queueHeadGuard: StartGuard = {
  name: "queue-head",
  mayStart(job, env) {
    if (job.queueName == null || job.queuePosition !== 0) return true;
    return queueBusy(env.DB, job.queueName).then((busy) => !busy);
  },
};
