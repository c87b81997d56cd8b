/** JSON shapes of users, the current user and API tokens (DHIS2 member names; absent values omitted). */
import { formatDate } from "../http/dates";
import { type AuthUser, effectiveAuthorities, type UserRow } from "./store";
import type { TokenRow } from "./tokens";
import { parseTokenAttributes } from "./token-attributes";

function parseStrings(json: string | null): string[] {
  if (!json) return [];
  try {
    const v = JSON.parse(json);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

const displayName = (first: string, surname: string, username: string) => `${first} ${surname}`.trim() || username;

/** `/api/users/{id}`: `authorities` are the user's direct authorities (what PUT accepts back). */
export function userJson(row: UserRow, timeZone: string, now: number): Record<string, unknown> {
  const name = displayName(row.first_name, row.surname, row.username);
  const out: Record<string, unknown> = {
    id: row.uid,
    username: row.username,
    firstName: row.first_name,
    surname: row.surname,
    name,
    displayName: name,
    email: row.email ?? undefined,
    disabled: row.disabled === 1,
    accountNonLocked: row.locked_until === null || row.locked_until <= now,
    created: formatDate(row.created, timeZone),
    lastUpdated: formatDate(row.last_updated, timeZone),
    lastLogin: formatDate(row.last_login, timeZone),
    passwordLastUpdated: formatDate(row.password_last_updated, timeZone),
    accountExpiry: formatDate(row.account_expiry, timeZone),
    userRoles: parseStrings(row.role_uids)
      .sort()
      .map((id) => ({ id })),
    authorities: parseStrings(row.authorities),
    effectiveAuthorities: effectiveAuthorities(row),
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/** `/api/me`: `authorities` are the effective ones (roles included), as DHIS2 apps read them. */
export function meJson(user: AuthUser, settings?: Record<string, unknown>): Record<string, unknown> {
  const name = displayName(user.firstName, user.surname, user.username);
  const out: Record<string, unknown> = {
    id: user.uid,
    username: user.username,
    name,
    displayName: name,
    firstName: user.firstName,
    surname: user.surname,
    email: user.email,
    authorities: user.authorities,
    userRoles: user.roles.map((id) => ({ id })),
    settings,
  };
  if (out.email === undefined) delete out.email;
  if (out.settings === undefined) delete out.settings;
  return out;
}

export const TOKEN_TYPE = "PERSONAL_ACCESS_TOKEN";

export function tokenJson(row: TokenRow & { owner_username?: string | null }, timeZone: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: row.uid,
    name: row.name ?? undefined,
    type: TOKEN_TYPE,
    version: 1,
    created: formatDate(row.created, timeZone),
    expire: row.expire ?? undefined,
    lastUsed: formatDate(row.last_used, timeZone),
    attributes: parseTokenAttributes(row.attributes),
    createdBy: row.owner_username ? { id: row.owner_uid, username: row.owner_username } : { id: row.owner_uid },
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}
