/** In-worker handler of DISABLE_INACTIVE_USERS (see user-jobs.ts and docs/EXECUTOR.md "In-worker jobs"). */
import { type UserJobHandler, disableInactiveUsers } from "./user-jobs";

export const disableInactiveUsersHandler: UserJobHandler = (ctx) => disableInactiveUsers(ctx);
