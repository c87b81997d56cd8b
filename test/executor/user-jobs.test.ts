import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import {
  addMonths,
  expiredTokens,
  expiringAccounts,
  expiringCredentials,
  planInactiveUsers,
  subtractMonths,
} from "../../src/jobs/handlers/user-policies";
import {
  accountExpiryAlert,
  credentialsExpiryAlert,
  disableInactiveUsers,
  removeExpired,
  type UserJobContext,
} from "../../src/jobs/handlers/user-jobs";
import { disableInactiveUsersHandler } from "../../src/jobs/handlers/disable-inactive-users";

const DAY = 24 * 3600 * 1000;
const NOW = Date.UTC(2026, 10, 29, 12, 0, 0); // 2026-11-29T12:00Z

describe("user policy functions", () => {
  it("moves by calendar months, clamping the day", () => {
    expect(new Date(subtractMonths(Date.UTC(2026, 2, 31, 5), 1)).toISOString()).toBe("2026-02-28T05:00:00.000Z");
    expect(new Date(subtractMonths(Date.UTC(2026, 0, 15), 3)).toISOString()).toBe("2025-10-15T00:00:00.000Z");
    expect(new Date(addMonths(Date.UTC(2024, 0, 31), 1)).toISOString()).toBe("2024-02-29T00:00:00.000Z");
    expect(new Date(addMonths(Date.UTC(2026, 10, 29), 12)).toISOString()).toBe("2027-11-29T00:00:00.000Z");
  });

  it("plans inactive users: last login, else created; superusers skipped; reminders", () => {
    const cutoff = subtractMonths(NOW, 3); // 2026-08-29T12:00Z
    const rows = [
      { uid: "a", username: "old", last_login: cutoff - 1, created: 0, disabled: 0, isSuper: false },
      { uid: "b", username: "edge", last_login: cutoff, created: 0, disabled: 0, isSuper: false },
      { uid: "c", username: "never", last_login: null, created: cutoff - DAY, disabled: 0, isSuper: false },
      { uid: "d", username: "fresh", last_login: null, created: NOW - DAY, disabled: 0, isSuper: false },
      { uid: "e", username: "root", last_login: 0, created: 0, disabled: 0, isSuper: true },
      { uid: "f", username: "gone", last_login: 0, created: 0, disabled: 1, isSuper: false },
      { uid: "g", username: "soon", last_login: cutoff + 2 * DAY, created: 0, disabled: 0, isSuper: false },
      { uid: "h", username: "later", last_login: cutoff + 9 * DAY, created: 0, disabled: 0, isSuper: false },
    ];
    const plan = planInactiveUsers(rows, NOW, { inactiveMonths: 3, reminderDaysBefore: 7 });
    expect(plan.cutoff).toBe(cutoff);
    expect(plan.disable.map((u) => u.username)).toEqual(["never", "old"]);
    expect(plan.skippedSuperusers.map((u) => u.username)).toEqual(["root"]);
    expect(plan.remind.map((u) => u.username)).toEqual(["edge", "soon"]);
    expect(plan.remind[1].disableFrom).toBe(Date.UTC(2026, 10, 30, 12)); // Aug 31 + 3 months, clamped to Nov 30
    expect(planInactiveUsers(rows, NOW, { inactiveMonths: 3 }).remind).toEqual([]);
  });

  it("finds expiring accounts, passwords and expired tokens", () => {
    const accounts = [
      { uid: "a", username: "a", email: "a@x.org", account_expiry: NOW + 2 * DAY, disabled: 0 },
      { uid: "b", username: "b", email: null, account_expiry: NOW + 8 * DAY, disabled: 0 },
      { uid: "c", username: "c", email: null, account_expiry: NOW - 1, disabled: 0 },
      { uid: "d", username: "d", email: null, account_expiry: NOW + DAY, disabled: 1 },
      { uid: "e", username: "e", email: null, account_expiry: null, disabled: 0 },
      { uid: "f", username: "f", email: null, account_expiry: NOW + 7 * DAY, disabled: 0 },
    ];
    expect(expiringAccounts(accounts, NOW, 7)).toEqual([
      { uid: "a", username: "a", email: "a@x.org", expires: NOW + 2 * DAY },
      { uid: "f", username: "f", expires: NOW + 7 * DAY },
    ]);
    const pw = [
      { uid: "a", username: "a", email: null, password_last_updated: subtractMonths(NOW, 3) - DAY, created: 0, disabled: 0 },
      { uid: "b", username: "b", email: null, password_last_updated: subtractMonths(NOW, 3) + 10 * DAY, created: 0, disabled: 0 },
      { uid: "c", username: "c", email: null, password_last_updated: subtractMonths(NOW, 3) + 40 * DAY, created: 0, disabled: 0 },
      { uid: "d", username: "d", email: null, password_last_updated: null, created: 0, disabled: 0 },
    ];
    expect(expiringCredentials(pw, NOW, { credentialsExpires: 0, reminderInDays: 28 })).toEqual([]);
    const alerts = expiringCredentials(pw, NOW, { credentialsExpires: 3, reminderInDays: 28 });
    expect(alerts.map((a) => [a.username, a.expired])).toEqual([
      ["d", true],
      ["a", true],
      ["b", false],
    ]);
    expect(
      expiredTokens(
        [
          { uid: "t2", expire: NOW },
          { uid: "t1", expire: NOW - 1 },
          { uid: "t3", expire: NOW + 1 },
          { uid: "t4", expire: null },
        ],
        NOW,
      ),
    ).toEqual(["t1", "t2"]);
  });
});

interface Recorded {
  level: string;
  message: string;
}

function context(parameters: Record<string, unknown> = {}): UserJobContext & { log: Recorded[] } {
  const log: Recorded[] = [];
  return {
    env: { DB: env.DB, SERVER_TIMEZONE: "Etc/UTC" },
    parameters,
    notify: (level, message) => {
      log.push({ level, message });
    },
    now: () => NOW,
    log,
  };
}

async function addUser(uid: string, username: string, fields: Partial<Record<string, number | string | null>> = {}) {
  const f = {
    last_login: null,
    password_last_updated: null,
    account_expiry: null,
    created: NOW - 400 * DAY,
    disabled: 0,
    authorities: "[]",
    email: null,
    ...fields,
  };
  await env.DB.prepare(
    `INSERT INTO users (uid, username, password_hash, disabled, authorities, email, last_login, password_last_updated, account_expiry, created, last_updated)
     VALUES (?, ?, 'x', ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(uid, username, f.disabled, f.authorities, f.email, f.last_login, f.password_last_updated, f.account_expiry, f.created, f.created)
    .run();
}

describe("in-worker user jobs on D1", () => {
  beforeEach(async () => {
    await env.DB.batch([
      env.DB.prepare(`DELETE FROM api_tokens`),
      env.DB.prepare(`DELETE FROM user_role_members`),
      env.DB.prepare(`DELETE FROM users`),
      env.DB.prepare(`DELETE FROM system_settings`),
    ]);
  });

  it("DISABLE_INACTIVE_USERS disables inactive users, keeps superusers, reminds, reports a summary", async () => {
    await addUser("uOld0000001", "old", { last_login: NOW - 200 * DAY });
    await addUser("uNever00001", "never", { created: NOW - 100 * DAY });
    await addUser("uFresh00001", "fresh", { last_login: NOW - DAY });
    await addUser("uSoon000001", "soon", { last_login: subtractMonths(NOW, 3) + 3 * DAY });
    await addUser("uRoot000001", "root", { last_login: NOW - 300 * DAY, authorities: '["ALL"]' });
    await addUser("uRoleSuper1", "rolesuper", { last_login: NOW - 300 * DAY });
    await env.DB.prepare(`INSERT INTO user_role_members (user_uid, role_uid) VALUES ('uRoleSuper1', 'yrB6vc5Ip3r')`).run();
    const ctx = context({ inactiveMonths: 3, reminderDaysBefore: 5 });
    const result = await disableInactiveUsersHandler(ctx);
    const { results } = await env.DB.prepare(`SELECT username, disabled FROM users ORDER BY username`).all<{
      username: string;
      disabled: number;
    }>();
    expect(Object.fromEntries(results.map((r) => [r.username, r.disabled]))).toEqual({
      fresh: 0,
      never: 1,
      old: 1,
      root: 0,
      rolesuper: 0,
      soon: 0,
    });
    expect(result.message).toBe("Disabled 2 inactive users, reminded 1");
    expect(result.summary).toMatchObject({
      responseType: "DisableInactiveUsersSummary",
      inactiveMonths: 3,
      reminderDaysBefore: 5,
      inactiveSince: "2026-08-29T12:00:00.000",
      disabled: 2,
      reminded: 1,
      skippedSuperusers: ["rolesuper", "root"],
      disabledUsers: [
        { uid: "uNever00001", username: "never" },
        { uid: "uOld0000001", username: "old" },
      ],
      reminders: [{ uid: "uSoon000001", username: "soon", disableFrom: "2026-12-01T12:00:00.000" }],
    });
    expect(ctx.log.map((l) => l.level)).toEqual(["INFO", "INFO", "WARN", "WARN", "INFO", "LOOP", "INFO", "INFO"]);
    expect(ctx.log.find((l) => l.level === "LOOP")?.message).toBe("[2/2] Disabled old");
    // A second run finds nothing more to disable.
    expect((await disableInactiveUsers(context({ inactiveMonths: 3 }))).message).toBe("Disabled 0 inactive users");
  });

  it("DISABLE_INACTIVE_USERS refuses bad parameters with E4008", async () => {
    await expect(disableInactiveUsers(context({}))).rejects.toMatchObject({ errorCodes: ["E4008"] });
    await expect(disableInactiveUsers(context({ inactiveMonths: 25 }))).rejects.toMatchObject({ errorCodes: ["E4008"] });
    await expect(disableInactiveUsers(context({ inactiveMonths: 2, reminderDaysBefore: 0 }))).rejects.toMatchObject({
      errorCodes: ["E4008"],
    });
  });

  it("ACCOUNT_EXPIRY_ALERT lists accounts expiring within accountExpiresInDays", async () => {
    await addUser("uA000000001", "alice", { account_expiry: NOW + 3 * DAY, email: "alice@example.org" });
    await addUser("uB000000001", "bob", { account_expiry: NOW + 10 * DAY });
    await addUser("uC000000001", "carol", { account_expiry: NOW + DAY, disabled: 1 });
    const r1 = await accountExpiryAlert(context());
    expect(r1.message).toBe("1 user account expires within 7 days");
    expect(r1.summary).toEqual({
      responseType: "AccountExpiryAlertSummary",
      accountExpiresInDays: 7,
      count: 1,
      accounts: [{ uid: "uA000000001", username: "alice", email: "alice@example.org", expires: "2026-12-02T12:00:00.000" }],
    });
    await env.DB.prepare(`INSERT INTO system_settings (key, value) VALUES ('accountExpiresInDays', '14')`).run();
    const ctx = context();
    const r2 = await accountExpiryAlert(ctx);
    expect(r2.message).toBe("2 user accounts expire within 14 days");
    expect(ctx.log.filter((l) => l.level === "WARN").map((l) => l.message)).toEqual([
      "Account of user alice expires on 2026-12-02T12:00:00.000",
      "Account of user bob expires on 2026-12-09T12:00:00.000",
    ]);
  });

  it("CREDENTIALS_EXPIRY_ALERT follows credentialsExpires (off by default)", async () => {
    await addUser("uA000000001", "alice", { password_last_updated: subtractMonths(NOW, 3) + 5 * DAY });
    await addUser("uB000000001", "bob", { password_last_updated: NOW - DAY });
    await addUser("uC000000001", "carol", { created: NOW - 200 * DAY });
    const off = await credentialsExpiryAlert(context());
    expect(off.message).toBe("Credentials expiry is not enabled");
    await env.DB.prepare(`INSERT INTO system_settings (key, value) VALUES ('credentialsExpires', '3')`).run();
    const ctx = context();
    const on = await credentialsExpiryAlert(ctx);
    expect(on.message).toBe("2 user passwords expired or expiring (1 expired)");
    expect(on.summary).toMatchObject({
      responseType: "CredentialsExpiryAlertSummary",
      credentialsExpires: 3,
      reminderInDays: 28,
      count: 2,
      expired: 1,
    });
    expect(ctx.log.filter((l) => l.level === "WARN").map((l) => l.message)).toEqual([
      "Password of user carol expired on 2026-08-13T12:00:00.000",
      "Password of user alice expires on 2026-12-03T12:00:00.000",
    ]);
  });

  it("REMOVE_USED_OR_EXPIRED_RESERVED_VALUES removes expired API tokens", async () => {
    await addUser("uA000000001", "alice");
    await env.DB.batch(
      [
        ["t1", NOW - DAY],
        ["t2", NOW + DAY],
        ["t3", null],
        ["t4", NOW],
      ].map(([uid, expire]) =>
        env.DB.prepare(`INSERT INTO api_tokens (uid, key_hash, owner_uid, expire, created) VALUES (?, ?, 'uA000000001', ?, 0)`).bind(
          uid,
          `h-${uid}`,
          expire,
        ),
      ),
    );
    const r = await removeExpired(context());
    expect(r).toEqual({
      message: "Removed 2 expired API tokens",
      summary: { responseType: "RemoveExpiredSummary", expiredApiTokensRemoved: 2 },
    });
    const { results } = await env.DB.prepare(`SELECT uid FROM api_tokens ORDER BY uid`).all<{ uid: string }>();
    expect(results.map((x) => x.uid)).toEqual(["t2", "t3"]);
  });
});
