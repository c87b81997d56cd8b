import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { api } from "../helpers";

const value = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(""),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.record({ id: fc.string() })), { maxLength: 4 }),
  fc.record({ id: fc.string(), type: fc.string() }),
);

const userBody = fc.record(
  {
    id: value,
    username: fc.oneof(value, fc.stringMatching(/^[a-z][a-z0-9._@-]{0,12}$/)),
    password: fc.oneof(value, fc.constant("Str0ng!pass")),
    firstName: value,
    surname: value,
    email: value,
    disabled: value,
    accountExpiry: value,
    authorities: value,
    userRoles: value,
    userCredentials: fc.oneof(value, fc.record({ username: value, password: value, userRoles: value }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);

describe("user and token writes never answer 500", () => {
  it("POST /api/users with arbitrary members", async () => {
    await fc.assert(
      fc.asyncProperty(userBody, async (body) => {
        const res = await api("/api/users", { method: "POST", body });
        expect([201, 400, 409]).toContain(res.status);
        await res.arrayBuffer();
      }),
      { numRuns: 60 },
    );
  });

  it("POST /api/apiToken with arbitrary members", async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ expire: value, name: value, attributes: value }, { requiredKeys: [] }), async (body) => {
        const res = await api("/api/apiToken", { method: "POST", body });
        expect([201, 409]).toContain(res.status);
        await res.arrayBuffer();
      }),
      { numRuns: 60 },
    );
  });

  it("GET /api/users with arbitrary query values", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ page: fc.string(), pageSize: fc.string(), paging: fc.string(), query: fc.string(), fields: fc.string() }),
        async (q) => {
          const res = await api(`/api/users?${new URLSearchParams(q)}`);
          expect([200, 400]).toContain(res.status);
          await res.arrayBuffer();
        },
      ),
      { numRuns: 60 },
    );
  });
});
