/**
 * The single source of "now" for the service. Logic takes a Clock (or a `now` number) as an argument;
 * only the composition roots (the HTTP app, the Durable Object, the cron handler) read `clock`.
 * Tests replace it with `setClock` to run any code at any instant.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

let current: Clock = systemClock;

export const clock: Clock = { now: () => current.now() };

export function setClock(next: Clock | null): void {
  current = next ?? systemClock;
}

/** A clock fixed at `start` that tests advance by hand. */
export function manualClock(start: number): Clock & { set(t: number): void; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    set: (v) => {
      t = v;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}
