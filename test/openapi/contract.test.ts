/**
 * The published OpenAPI document as a contract: every route of the app is in it, and every operation
 * has a unique operationId (client generators need one), a `security` decision (an explicit empty list
 * for public routes) and its path parameters. The answers themselves are checked against it on every
 * cell of the access control matrix (test/security/access-control.test.ts, via ./contract.ts); the
 * checker is tested here on answers that break the contract. Redocly's recommended rules run in
 * `npm run lint` (scripts/openapi-lint.mjs).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { derivedOperationId } from "../../src/openapi/routes";
import { appRoutes } from "../security/support";
import { answerProblems, type Contract, operationOf, publishedContract, schemaProblems } from "./contract";

let contract: Contract;
const operations = () =>
  Object.entries(contract.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

beforeAll(async () => {
  contract = await publishedContract();
});

describe("the OpenAPI document", () => {
  it("documents every route the app serves", () => {
    const missing = appRoutes()
      .filter((r) => !operationOf(contract, r))
      .map((r) => r.key);
    expect(missing).toEqual([]);
  });

  it("gives every operation a unique operationId", () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === "string" && /^[a-z][A-Za-z0-9]*$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(contract.paths["/api/jobConfigurations/{id}/execute"].post.operationId).toBe("postJobConfigurationsByIdExecute");
    expect(contract.paths["/api/metrics"].get.operationId).toBe("getMetrics");
  });

  it("derives operationIds from method and path", () => {
    expect(derivedOperationId("get", "/api/jobConfigurations/{id}/progress")).toBe("getJobConfigurationsByIdProgress");
    expect(derivedOperationId("get", "/dhis-web-{app}/{file}")).toBe("getDhisWebByAppByFile");
    expect(derivedOperationId("post", "/dhis-web-commons-security/login.action")).toBe("postDhisWebCommonsSecurityLoginAction");
  });

  it("decides security for every operation: the public ones say so with an empty list, the others answer 401", () => {
    const undecided = operations().filter(({ op }) => !Array.isArray(op.security));
    expect(undecided.map(({ method, path }) => `${method} ${path}`)).toEqual([]);
    const publicOps = operations()
      .filter(({ op }) => op.security?.length === 0)
      .map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    expect(publicOps).toContain("GET /api/ping");
    expect(publicOps).toContain("POST /api/auth/login");
    expect(publicOps).not.toContain("GET /api/metrics");
    for (const { method, path, op } of operations()) {
      if (op.security?.length) expect(op.responses?.["401"], `${method} ${path}`).toBeDefined();
    }
  });

  it("declares the path parameters of every operation", () => {
    for (const { method, path, op } of operations()) {
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? [])
        .filter((p) => p.in === "path")
        .map((p) => p.name)
        .sort();
      expect(declared, `${method} ${path}`).toEqual(inPath);
    }
  });
});

describe("the answer checker", () => {
  const route = { method: "GET", path: "/api/metrics", key: "GET /api/metrics" };
  const json = "application/json;charset=UTF-8";

  it("accepts a documented answer and refuses an undeclared status, media type or body", () => {
    expect(
      answerProblems(contract, route, 401, json, JSON.stringify({ httpStatus: "Unauthorized", httpStatusCode: 401, status: "ERROR" })),
    ).toEqual([]);
    expect(answerProblems(contract, route, 418, json, "{}")).toEqual([expect.stringMatching(/^418 is not a declared response/)]);
    expect(answerProblems(contract, route, 401, "text/html", "<p>")).toEqual([
      expect.stringMatching(/Content-Type text\/html is not declared/),
    ]);
    expect(answerProblems(contract, route, 401, json, JSON.stringify({ httpStatus: "Unauthorized", status: "ERROR" }))).toEqual([
      "401 body $.httpStatusCode: required, missing",
    ]);
    expect(answerProblems(contract, route, 401, json, JSON.stringify({ httpStatus: 1, httpStatusCode: 401, status: "NOPE" }))).toEqual([
      "401 body $.httpStatus: expected string, got integer",
      '401 body $.status: "NOPE" is not one of ["OK","WARNING","ERROR"]',
    ]);
    expect(answerProblems(contract, { method: "GET", path: "/api/nowhere", key: "GET /api/nowhere" }, 200, json, "{}")).toEqual([
      "GET /api/nowhere is not in /api/openapi.json",
    ]);
  });

  it("JSON Schema subset: references, nullable types, arrays, alternatives", () => {
    const schema = {
      type: "object",
      properties: { a: { type: ["string", "null"] }, b: { type: "array", items: { $ref: "#/components/schemas/WebMessage" } } },
    };
    expect(schemaProblems(contract, schema, { a: null, b: [] })).toEqual([]);
    expect(schemaProblems(contract, schema, { a: 1, b: [{}] })).toEqual([
      "$.a: expected string|null, got integer",
      "$.b[0].httpStatus: required, missing",
      "$.b[0].httpStatusCode: required, missing",
      "$.b[0].status: required, missing",
    ]);
    expect(schemaProblems(contract, { anyOf: [{ type: "string" }, { type: "integer" }] }, true)).toEqual([
      "$: matches none of 2 alternatives ($: expected string, got boolean)",
    ]);
  });
});
