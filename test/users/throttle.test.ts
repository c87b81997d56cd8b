import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { countFailure } from "../../src/users/throttle";

describe("per-address throttle", () => {
  it("the real AUTH_FAILURES binding throttles an address after its budget", async () => {
    const address = `198.51.100.${Math.floor(Math.random() * 250)}`;
    const answers: Array<{ retryAfter: number; started: boolean } | null> = [];
    for (let i = 0; i < 25; i++) answers.push(await countFailure(env.AUTH_FAILURES, address, 1_000_000));
    expect(answers.slice(0, 20).every((a) => a === null)).toBe(true);
    expect(answers[20]).toEqual({ retryAfter: 60, started: true });
    expect(answers[24]).toMatchObject({ started: false });
  });

  it("a failing binding degrades to no per-address budget (the failure stays a 401), never a 500", async () => {
    const broken: RateLimit = { limit: async () => Promise.reject(new Error("rate limiter unavailable")) };
    await expect(countFailure(broken, "203.0.113.9", 1_000_000)).resolves.toBeNull();
  });
});
