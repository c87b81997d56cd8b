import { describe, expect, it } from "vitest";
import { api, json } from "../helpers";

describe("OpenAPI document", () => {
  it("documents the settings, login, option-list and app routes", async () => {
    const res = await api("/api/openapi.json");
    expect(res.status).toBe(200);
    const paths = Object.keys((await json(res)).paths);
    for (const p of [
      "/api/systemSettings",
      "/api/systemSettings/{key}",
      "/api/userSettings",
      "/api/userSettings/{key}",
      "/api/loginConfig",
      "/api/auth/login",
      "/api/auth/logout",
      "/api/analytics/tableTypes",
      "/api/dataIntegrity",
      "/api/predictors",
      "/dhis-web-commons/menu/getModules.action",
      "/dhis-web-{app}/{file}",
    ]) {
      expect(paths).toContain(p);
    }
  });
});
