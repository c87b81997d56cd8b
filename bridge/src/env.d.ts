/**
 * What the bridge reads besides its generated `BridgeEnv` (bridge/worker-configuration.d.ts, from
 * bridge/wrangler.jsonc): secrets its configuration cannot require, because either suffices — a DHIS2
 * personal access token (`DHIS2_TOKEN`) or a user and password — and the optional `SCHEDULER` service
 * binding for callbacks (else the callback URL the scheduler sent is fetched). Merged into `BridgeEnv`.
 */
interface BridgeEnv {
  DHIS2_USERNAME?: string;
  DHIS2_PASSWORD?: string;
  DHIS2_TOKEN?: string;
  SCHEDULER?: Fetcher;
}
