// The calls a DHIS2 app-platform app makes before it renders, issued the way the platform issues them:
// the adapter's bootstrap fetches (`system/info` unversioned, with credentials, X-Requested-With and
// Accept: application/json), then @dhis2/data-engine's RestAPILink (the engine inside
// @dhis2/app-runtime 3.17) for everything else: versioned `/api/<minor>/` paths, `action::` resources
// under /dhis-web-commons, text/plain setting writes. Results land in `window.__shellResults`.
import { DataEngine, RestAPILink } from "@dhis2/data-engine";

const results = { calls: {}, errors: {} };

function baseUrl() {
  const meta = document.querySelector('meta[name="dhis2-base-url"]')?.getAttribute("content");
  if (!meta || meta === "__DHIS2_BASE_URL__") throw new Error("dhis2-base-url was not filled in");
  return meta;
}

async function bootstrapGet(url) {
  // app-platform adapter/src/utils/api.js
  const res = await fetch(url, { credentials: "include", headers: { "X-Requested-With": "XMLHttpRequest", Accept: "application/json" } });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return res.json();
}

async function step(name, run) {
  try {
    results.calls[name] = await run();
  } catch (e) {
    results.errors[name] = `${e?.type ?? "error"}: ${e?.message ?? String(e)}`;
  }
}

async function main() {
  const base = baseUrl();
  results.baseUrl = base;
  const info = await bootstrapGet(`${base}/api/system/info`);
  const [major, minor, patch] = String(info.version)
    .split(".")
    .map((n) => parseInt(n, 10));
  results.serverVersion = { major, minor, patch };
  results.calls.systemInfo = { version: info.version, serverTimeZoneId: info.serverTimeZoneId, contextPath: info.contextPath };
  const engine = new DataEngine(new RestAPILink({ baseUrl: base, apiVersion: minor, serverVersion: { major, minor, patch } }));

  // The app shell, header bar and locale (app-platform adapter, @dhis2/ui HeaderBar).
  await step("shell", () =>
    engine.query({
      me: { resource: "me", params: { fields: ["id", "name", "email", "authorities", "avatar", "settings"] } },
      userSettings: { resource: "userSettings" },
      systemSettings: { resource: "systemSettings" },
      title: { resource: "systemSettings/applicationTitle" },
      help: { resource: "systemSettings/helpPageLink" },
      apps: { resource: "action::menu/getModules" },
    }),
  );
  // The Scheduler app's job form loads these option lists together (use-parameter-options.js).
  await step("options", () =>
    engine.query({
      skipTableTypes: { resource: "analytics/tableTypes" },
      validationRuleGroups: { resource: "validationRuleGroups", params: { paging: false } },
      pushAnalysis: { resource: "pushAnalysis", params: { paging: false } },
      predictors: { resource: "predictors", params: { paging: false } },
      predictorGroups: { resource: "predictorGroups", params: { paging: false } },
      dataIntegrityChecks: { resource: "dataIntegrity" },
      dashboard: { resource: "dashboards" },
      receivers: { resource: "userGroups" },
      programs: { resource: "programs", params: { paging: false } },
      dataExchangeIds: { resource: "aggregateDataExchanges", params: { fields: ["id", "displayName"], paging: true } },
    }),
  );
  // A session-authenticated write: app-runtime sends text/plain for setting resources.
  await step("saveLocale", () => engine.mutate({ resource: "userSettings/keyUiLocale", type: "create", data: "fr" }));
  await step("localeAfter", () => engine.query({ locale: { resource: "userSettings/keyUiLocale" } }));
}

main()
  .catch((e) => {
    results.fatal = String(e?.message ?? e);
  })
  .finally(() => {
    window.__shellResults = results;
    document.getElementById("dhis2-app-root").textContent = results.fatal ? `failed: ${results.fatal}` : "done";
  });
