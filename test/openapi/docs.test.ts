import { describe, expect, it } from "vitest";
import { api } from "../helpers";

describe("/api/docs", () => {
  it("serves a self-contained page without credentials", async () => {
    const res = await api("/api/docs", { auth: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/html;charset=UTF-8");
    const html = await res.text();
    expect(html.startsWith("<!doctype html>")).toBe(true);
    // Nothing is loaded from elsewhere: no external scripts, styles or fonts.
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('fetch("/api/openapi.json"');
  });

  it("allows only its own inline script and style", async () => {
    const res = await api("/api/docs", { auth: null });
    const csp = res.headers.get("Content-Security-Policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    const html = await res.text();
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1];
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(script));
    const b64 = btoa(String.fromCharCode(...new Uint8Array(digest)));
    expect(csp).toContain(`script-src 'sha256-${b64}'`);
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
  });
});
