import { applyD1Migrations, env } from "cloudflare:test";
import { forgetBootstrap } from "../src/users/bootstrap";
import { clearCredentialCache } from "../src/users/credential-cache";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
forgetBootstrap();
clearCredentialCache();
