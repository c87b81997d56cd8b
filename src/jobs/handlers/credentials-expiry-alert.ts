/** In-worker handler of CREDENTIALS_EXPIRY_ALERT (see user-jobs.ts and docs/EXECUTOR.md "In-worker jobs"). */
import { type UserJobHandler, credentialsExpiryAlert } from "./user-jobs";

export const credentialsExpiryAlertHandler: UserJobHandler = (ctx) => credentialsExpiryAlert(ctx);
