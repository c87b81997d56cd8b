const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALPHANUMERIC = `0123456789${LETTERS}`;
export const UID_PATTERN = /^[a-zA-Z][a-zA-Z0-9]{10}$/;

export function isValidUid(value: unknown): value is string {
  return typeof value === "string" && UID_PATTERN.test(value);
}

/**
 * Uniform choice by rejection sampling: a random byte is used only when it is below the largest
 * multiple of the alphabet size that fits in a byte, so no character is favoured (no modulo bias).
 * Randomness is drawn in blocks of at most 64 KiB (WebCrypto's per-call limit).
 */
class RandomChars {
  private readonly buf = new Uint8Array(16384);
  private pos = this.buf.length;

  private byte(): number {
    if (this.pos === this.buf.length) {
      crypto.getRandomValues(this.buf);
      this.pos = 0;
    }
    return this.buf[this.pos++];
  }

  pick(alphabet: string): string {
    const limit = 256 - (256 % alphabet.length);
    for (;;) {
      const b = this.byte();
      if (b < limit) return alphabet[b % alphabet.length];
    }
  }
}

function uidFrom(rnd: RandomChars): string {
  let uid = rnd.pick(LETTERS);
  for (let i = 0; i < 10; i++) uid += rnd.pick(ALPHANUMERIC);
  return uid;
}

export function generateUid(): string {
  return uidFrom(new RandomChars());
}

/** Many UIDs at once, sharing one randomness buffer. */
export function generateUids(count: number): string[] {
  const rnd = new RandomChars();
  const codes = new Array<string>(count);
  for (let i = 0; i < count; i++) codes[i] = uidFrom(rnd);
  return codes;
}
