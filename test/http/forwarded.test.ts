/**
 * Forwarded headers that make no URL (a port over 65535, a host with a non-numeric port) fall back to
 * the request's own origin instead of failing the request (found by the hostile-input suite: the option
 * lists built their pager from such a base and answered 500).
 */
import { describe, expect, it } from "vitest";
import { contextPath } from "../../src/http/respond";
import { api } from "../helpers";

describe("contextPath with hostile X-Forwarded-* values", () => {
  it("keeps a usable base", () => {
    const req = (headers: Record<string, string>) => new Request("http://localhost:8787/api/predictors", { headers });
    expect(contextPath(req({ "X-Forwarded-Host": "his.example.org", "X-Forwarded-Port": "8443" }))).toBe("http://his.example.org:8443");
    expect(contextPath(req({ "X-Forwarded-Port": "99999" }))).toBe("http://localhost:8787");
    expect(contextPath(req({ "X-Forwarded-Host": "host:notaport" }))).toBe("http://localhost:8787");
  });

  it("a paged option list answers 200 with them", async () => {
    const cases: Record<string, string>[] = [
      { "X-Forwarded-Port": "99999" },
      { "X-Forwarded-Host": "host:notaport", "X-Forwarded-Proto": "HTTP" },
    ];
    for (const headers of cases) {
      const res = await api("/api/predictors", { headers });
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect((await res.json()) as { pager?: unknown }).toHaveProperty("pager");
    }
  });
});
