import { describe, expect, it } from "vitest";
import { generateUid, generateUids, isValidUid } from "../../src/http/uid";

describe("UID generation", () => {
  it("makes valid, distinct UIDs, also beyond WebCrypto's 64 KiB per call", () => {
    const codes = generateUids(50_000);
    expect(codes).toHaveLength(50_000);
    expect(codes.every(isValidUid)).toBe(true);
    expect(new Set(codes).size).toBe(50_000);
    expect(isValidUid(generateUid())).toBe(true);
  });

  it("uses every character about equally often (no modulo bias)", () => {
    const counts = new Map<string, number>();
    for (const uid of generateUids(20_000)) for (const ch of uid.slice(1)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    const expected = (20_000 * 10) / 62;
    // Chi-square with 61 degrees of freedom: 120 is far beyond the 99.99th percentile (~110).
    let chi = 0;
    for (const n of counts.values()) chi += (n - expected) ** 2 / expected;
    expect(chi).toBeLessThan(120);
  });
});
