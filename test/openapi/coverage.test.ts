import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { api, json } from "../helpers";

/**
 * Routes that are deliberately not part of the OpenAPI document. Keep this empty unless a route
 * cannot be described (none today).
 */
const NOT_IN_OPENAPI: string[] = [];

/**
 * Routes whose Hono pattern cannot be written as an OpenAPI path (a regex-constrained parameter with
 * a wildcard), mapped to the path under which their module documents them.
 */
const DOCUMENTED_AS: Record<string, string> = {
  "GET /{app}/*": "GET /dhis-web-{app}/{file}",
  "GET /{app}": "GET /dhis-web-{app}/{file}",
};

/** `/api/jobConfigurations/:id{[a-z]+}` → `/api/jobConfigurations/{id}`. */
function normalisePath(path: string): string {
  return (
    path
      .split("/")
      .map((seg) => {
        const m = /^:([A-Za-z0-9_]+)(\{.*\})?(\?)?$/.exec(seg);
        return m ? `{${m[1]}}` : seg;
      })
      .join("/")
      .replace(/\/+$/, "") || "/"
  );
}

describe("OpenAPI document", () => {
  it("is served at /api/openapi.json (and /api/openapi) without credentials", async () => {
    const res = await api("/api/openapi.json", { auth: null });
    expect(res.status).toBe(200);
    const doc = await json(res);
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("HRHIS4 Edge Web API");
    expect(doc.components.securitySchemes).toHaveProperty("basicAuth");
    expect(doc.paths["/api/jobConfigurations"].get.parameters.map((p: any) => p.name)).toEqual(
      expect.arrayContaining(["fields", "filter", "order", "paging", "page", "pageSize", "rootJunction", "query"]),
    );
    expect(doc.paths["/api/jobConfigurations"].post.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/JobConfigurationInput",
    });
    expect(doc.components.schemas.JobConfigurationInput.properties).toHaveProperty("cronExpression");
    expect(doc.paths["/api/jobConfigurations/{id}"].get.parameters.find((p: any) => p.name === "id").in).toBe("path");
    expect(doc.paths["/api/docs"].get).toBeDefined();
    expect(await json(await api("/api/openapi", { auth: null }))).toEqual(doc);
  });

  it("documents every route registered in the app", async () => {
    const doc = await json(await api("/api/openapi.json"));
    const documented = new Set<string>();
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${normalisePath(path)}`);
    }
    const missing = new Set<string>();
    for (const r of app.routes) {
      if (r.method === "ALL") continue;
      const key = `${r.method} ${normalisePath(r.path)}`;
      const documentedKey = DOCUMENTED_AS[key] ?? key;
      if (!documented.has(documentedKey) && !NOT_IN_OPENAPI.includes(key)) missing.add(key);
    }
    expect([...missing].sort()).toEqual([]);
  });

  it("normalises Hono paths", () => {
    expect(normalisePath("/api/jobConfigurations/:id")).toBe("/api/jobConfigurations/{id}");
    expect(normalisePath("/api/x/:id{[a-z]+}/y")).toBe("/api/x/{id}/y");
    expect(normalisePath("/")).toBe("/");
  });
});
