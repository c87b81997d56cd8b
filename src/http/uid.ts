const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALPHANUMERIC = "0123456789" + LETTERS;
export const UID_PATTERN = /^[a-zA-Z][a-zA-Z0-9]{10}$/;

export function isValidUid(value: unknown): value is string {
  return typeof value === "string" && UID_PATTERN.test(value);
}

/**
 * Uniform choice by rejection sampling: a random byte is used only when it is below the largest
 * multiple of the alphabet size that fits in a byte, so no character is favoured (no modulo bias).
 */
function pick(alphabet: string, count: number, out: string[]): void {
  const limit = 256 - (256 % alphabet.length);
  const buf = new Uint8Array(Math.max(16, count * 2));
  let filled = 0;
  while (filled < count) {
    crypto.getRandomValues(buf);
    for (let i = 0; i < buf.length && filled < count; i++) {
      if (buf[i] < limit) {
        out.push(alphabet[buf[i] % alphabet.length]);
        filled++;
      }
    }
  }
}

export function generateUid(): string {
  const out: string[] = [];
  pick(LETTERS, 1, out);
  pick(ALPHANUMERIC, 10, out);
  return out.join("");
}

/** Many UIDs at once, drawing randomness in large batches. */
export function generateUids(count: number): string[] {
  const first: string[] = [];
  const rest: string[] = [];
  pick(LETTERS, count, first);
  pick(ALPHANUMERIC, count * 10, rest);
  const codes = new Array<string>(count);
  for (let i = 0; i < count; i++) codes[i] = first[i] + rest.slice(i * 10, i * 10 + 10).join("");
  return codes;
}
