/**
 * The in-worker user jobs registered with the scheduler (src/scheduling/handlers.ts): they run through
 * the real engine (execute endpoint, the job's alarm), not through the executor.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, json } from "../helpers";
import { T0, fire, insertJob, row, runs, userWith, schedulerTestLifecycle } from "./support";

const _clk = schedulerTestLifecycle();

describe("in-worker user jobs through the engine", () => {
  it("DISABLE_INACTIVE_USERS disables an idle user, who is refused at once (401 Account disabled)", async () => {
    const { auth, uid: userUid } = await userWith("idleuser", []);
    // Signed in: this isolate now caches the credentials and (from the second request, which has no
    // login bookkeeping to write) the user row. Then idle for over a year, as D1 sees it.
    expect((await api("/api/me", { auth })).status).toBe(200);
    expect((await api("/api/me", { auth })).status).toBe(200);
    await env.DB.prepare(`UPDATE users SET last_login = ? WHERE uid = ?`)
      .bind(T0 - 400 * 24 * 3600 * 1000, userUid)
      .run();

    const uid = await insertJob({ jobType: "DISABLE_INACTIVE_USERS", cron: "0 0 3 ? * *", parameters: { inactiveMonths: 6 } });
    expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status).toBe(200);
    expect(await fire(uid)).toBe(true);
    expect((await row(uid))!).toMatchObject({ last_executed_status: "COMPLETED", error_codes: null });
    expect((await runs(uid)).map((r) => r.status)).toEqual(["COMPLETED"]);
    expect(await env.DB.prepare(`SELECT disabled FROM users WHERE uid = ?`).bind(userUid).first("disabled")).toBe(1);
    expect(await json(await api(`/api/system/taskSummaries/DISABLE_INACTIVE_USERS/${uid}`))).toMatchObject({
      disabled: 1,
      disabledUsers: [{ uid: userUid }],
    });

    const res = await api("/api/me", { auth });
    expect(res.status).toBe(401);
    expect((await json(res)).message).toBe("Account disabled");
  });

  it("the other user jobs run in the worker too (not through the executor)", async () => {
    for (const [jobType, responseType] of [
      ["ACCOUNT_EXPIRY_ALERT", "AccountExpiryAlertSummary"],
      ["CREDENTIALS_EXPIRY_ALERT", "CredentialsExpiryAlertSummary"],
      ["REMOVE_USED_OR_EXPIRED_RESERVED_VALUES", "RemoveExpiredSummary"],
    ]) {
      const uid = await insertJob({ jobType, cron: "0 0 3 ? * *" });
      expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status, jobType).toBe(200);
      expect(await fire(uid)).toBe(true);
      expect((await row(uid))!, jobType).toMatchObject({ last_executed_status: "COMPLETED", error_codes: null });
      expect(await json(await api(`/api/system/taskSummaries/${jobType}/${uid}`))).toMatchObject({ responseType });
    }
  });
});
