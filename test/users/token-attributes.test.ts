/** The pure parts of token restrictions: IP syntax, attribute reading, request checks. */
import { describe, expect, it } from "vitest";
import { isIpAddress, readTokenAttributes, tokenConstraintViolation } from "../../src/users/token-attributes";

describe("isIpAddress", () => {
  it.each([
    "0.0.0.0",
    "203.0.113.7",
    "255.255.255.255",
    "::",
    "::1",
    "2001:db8::1",
    "2001:0db8:0000:0000:0000:ff00:0042:8329",
    "fe80::1:2:3:4",
    "::ffff:192.0.2.128",
  ])("accepts %s", (ip) => expect(isIpAddress(ip)).toBe(true));
  it.each([
    "",
    "256.1.1.1",
    "1.2.3",
    "01.2.3.4",
    "1.2.3.4.5",
    "2001:db8::1::2",
    "2001:db8:0:0:0:0:0:0:1",
    "12345::",
    "g::1",
    "::ffff:300.0.0.1",
    "localhost",
    " 1.2.3.4",
  ])("refuses %j", (ip) => expect(isIpAddress(ip)).toBe(false));
});

describe("readTokenAttributes and tokenConstraintViolation", () => {
  const req = (method: string, headers: Record<string, string> = {}) => ({
    method,
    header: (name: string) => Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1],
  });

  it("merges lists of one type and checks every rule, the first broken one wins", () => {
    const { attributes, problems } = readTokenAttributes([
      { type: "MethodAllowedList", allowedMethods: ["GET"] },
      { type: "MethodAllowedList", allowedMethods: ["post"] },
      { type: "IpAllowedList", allowedIps: ["10.0.0.1"] },
    ]);
    expect(problems).toEqual([]);
    expect(attributes).toEqual([
      { type: "MethodAllowedList", allowedMethods: ["GET", "POST"] },
      { type: "IpAllowedList", allowedIps: ["10.0.0.1"] },
    ]);
    expect(tokenConstraintViolation(attributes, req("POST", { "CF-Connecting-IP": "10.0.0.1" }))).toBeNull();
    expect(tokenConstraintViolation(attributes, req("DELETE", { "CF-Connecting-IP": "10.0.0.2" }))).toBe(
      "Failed to authenticate API token, request http method is not allowed.",
    );
    expect(tokenConstraintViolation(attributes, req("GET", { "CF-Connecting-IP": "10.0.0.2" }))).toBe(
      "Failed to authenticate API token, request ip address is not allowed.",
    );
    expect(tokenConstraintViolation([], req("TRACE"))).toBeNull();
  });
});
