/** Who may change schedules (job actions, queues): superusers or holders of F_SCHEDULING_ADMIN. */
import { requireAuthority } from "../users/auth";
import type { AuthUser } from "../users/store";

export const SCHEDULING_ADMIN_AUTHORITIES = ["F_SCHEDULING_ADMIN"];

/** 403 with DHIS2's "Access is denied" message unless the user may change schedules. */
export function requireSchedulingAdmin(user: AuthUser): void {
  requireAuthority(
    user,
    SCHEDULING_ADMIN_AUTHORITIES,
    `Access is denied, requires one Authority from [${SCHEDULING_ADMIN_AUTHORITIES.join(", ")}]`,
  );
}
