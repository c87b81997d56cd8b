/**
 * Issue 14, point 2 (open redirect after sign-in): `login.html?redirect=…` returns the browser only to
 * a path of this origin. The target is resolved as a browser resolves it (`new URL(target, origin)`);
 * tab, newline and other control characters, backslashes, encoded slashes, protocol-relative and
 * absolute URLs to another host fall back to the start app. The headless browser test
 * (test/browser/run.mjs) signs in through these pages and checks where Chromium really goes.
 */
import { describe, expect, it } from "vitest";
import { safeRedirect } from "../../src/appshell/login";
import { api } from "../helpers";

const ORIGIN = "http://localhost:8787";
const START = "/dhis-web-scheduler/";

/** The `target` the sign-in page will `location.assign` after signing in. */
async function pageTarget(redirect: string): Promise<string> {
  const res = await api(`/dhis-web-commons-security/login.html?redirect=${redirect}`, { auth: null });
  expect(res.status).toBe(200);
  const m = /const target = ("(?:[^"\\]|\\.)*");/.exec(await res.text());
  expect(m).not.toBeNull();
  return JSON.parse(m![1]);
}

/** Query-string encodings of targets that lead to another host in a browser. */
const HOSTILE = [
  "%2F%09%2Fevil.example%2Fx", // "/\t/evil.example/x": browsers drop the tab
  "/%09/evil.example/x",
  "/%0a/evil.example/x", // newline
  "/%0d%0a/evil.example/x",
  "%2F%5Cevil.example%2Fx", // "/\evil.example/x": a backslash is a slash to browsers
  "%5C%5Cevil.example%2Fx",
  "/%5C/evil.example",
  "%2F%2Fevil.example%2Fx", // encoded "//evil.example/x"
  "//evil.example/x", // protocol-relative
  "%2F%2F%2Fevil.example",
  "https://evil.example/x",
  "https:evil.example",
  "HTTPS://EVIL.EXAMPLE",
  "javascript:alert(1)",
  "java%09script:alert(1)",
  "data:text/html,hi",
  "http://localhost:8787@evil.example/",
  "%00/evil",
];

describe("the sign-in page's return target", () => {
  it.each(HOSTILE)("refuses %s (falls back to the start app)", async (redirect) => {
    expect(await pageTarget(redirect)).toBe(START);
  });

  it("keeps paths, queries and fragments of this origin", async () => {
    expect(await pageTarget("%2Fdhis-web-scheduler%2F%23%2Fjobs")).toBe("/dhis-web-scheduler/#/jobs");
    expect(await pageTarget("/dhis-web-scheduler/?x=1%26y=2")).toBe("/dhis-web-scheduler/?x=1&y=2");
    expect(await pageTarget(encodeURIComponent(`${ORIGIN}/dhis-web-menu/`))).toBe("/dhis-web-menu/");
    // A doubly encoded slash stays a path of this origin.
    expect(await pageTarget("%252F%252Fevil.example")).toBe("/%2F%2Fevil.example");
  });

  it("resolves like a browser, never returning something a browser reads as another host", () => {
    for (const target of [
      "/\t/evil.example",
      "/\n/evil.example",
      "/\\evil.example",
      "\\\\evil.example",
      "//evil.example",
      " //evil.example",
    ]) {
      const back = safeRedirect(target, START, ORIGIN);
      expect(back, JSON.stringify(target)).toBe(START);
      expect(new URL(back, `${ORIGIN}/`).origin).toBe(ORIGIN);
    }
    expect(safeRedirect("http://localhost:8787//evil.example/x", START, ORIGIN)).toBe(START);
    expect(safeRedirect("relative/path", START, ORIGIN)).toBe("/relative/path");
    expect(safeRedirect(undefined, START, ORIGIN)).toBe(START);
  });
});
