/**
 * A bound on how long to wait for something that may never answer (a subrequest, a listener): the
 * work's own result when it settles in time, else a rejection with `Error(message)`. The work itself
 * goes on (a promise cannot be cancelled); `onTimeout` may stop it (e.g. abort a fetch).
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, message: string, onTimeout?: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(message)); // first, so the race reports the timeout
      onTimeout?.();
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}
