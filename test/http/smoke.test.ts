import { describe, expect, it } from "vitest";
import { api } from "../helpers";

describe("smoke", () => {
  it("answers 404 WebMessage for unknown routes", async () => {
    const res = await api("/api/nothing-here");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ httpStatus: "Not Found", httpStatusCode: 404, status: "ERROR" });
  });
  it("answers 401 without credentials", async () => {
    const res = await api("/api/nothing-here", { auth: null });
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toContain("Basic");
  });
});
