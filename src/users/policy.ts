/**
 * Account rules for /api/users.
 *
 * Password policy (checked on create and on every password change):
 * - 8 to 256 characters;
 * - at least one upper-case letter, one digit and one special character (anything that is not a
 *   letter or digit);
 * - must not contain the username (case-insensitive).
 * Violations are reported as E4002/E4005 error reports; the password itself is never echoed.
 *
 * Usernames: 1 to 255 characters from letters, digits and `. _ @ -`, starting and ending with a
 * letter or digit (no `:` so they always work in HTTP Basic credentials).
 */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;
export const USERNAME_MAX_LENGTH = 255;

export const USERNAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._@-]{0,253}[A-Za-z0-9])?$/;

export interface PolicyViolation {
  errorCode: string;
  message: string;
}

/** Every rule the password breaks (empty when it is acceptable). */
export function passwordViolations(password: string, username: string | undefined): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    out.push({
      errorCode: "E4002",
      message: `Allowed length range for property \`password\` is [${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH}], but given length was ${length}.`,
    });
  }
  if (!/\p{Lu}/u.test(password)) out.push({ errorCode: "E4005", message: "Password must contain at least one upper-case letter." });
  if (!/\p{Nd}/u.test(password)) out.push({ errorCode: "E4005", message: "Password must contain at least one digit." });
  if (!/[^\p{L}\p{Nd}]/u.test(password)) out.push({ errorCode: "E4005", message: "Password must contain at least one special character." });
  if (username && password.toLowerCase().includes(username.toLowerCase())) {
    out.push({ errorCode: "E4005", message: "Password must not contain the username." });
  }
  return out;
}

export function isValidUsername(username: string): boolean {
  return username.length <= USERNAME_MAX_LENGTH && USERNAME_PATTERN.test(username);
}

/** A pragmatic e-mail check: one @, no spaces, a dot in the domain. */
export function isValidEmail(email: string): boolean {
  return email.length <= 255 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email);
}

/** Authority names: upper/lower-case letters, digits and `_ : . -`. */
export function isValidAuthority(authority: string): boolean {
  return /^[A-Za-z0-9_:.-]{1,255}$/.test(authority);
}
