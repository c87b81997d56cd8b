/** In-worker handler of REMOVE_USED_OR_EXPIRED_RESERVED_VALUES (see user-jobs.ts and docs/EXECUTOR.md "In-worker jobs"). */
import { type UserJobHandler, removeExpired } from "./user-jobs";

export const removeExpiredHandler: UserJobHandler = (ctx) => removeExpired(ctx);
