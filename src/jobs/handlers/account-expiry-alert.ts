/** In-worker handler of ACCOUNT_EXPIRY_ALERT (see user-jobs.ts and docs/EXECUTOR.md "In-worker jobs"). */
import { type UserJobHandler, accountExpiryAlert } from "./user-jobs";

export const accountExpiryAlertHandler: UserJobHandler = (ctx) => accountExpiryAlert(ctx);
