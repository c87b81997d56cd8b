/**
 * Which queue names may be stored (create, rename). DHIS2 keeps a queue's name in
 * `jobconfiguration.queuename`, a `varchar(50)`: a longer name fails there (409). It has no rule on
 * the characters; here a name must also be printable on one line, so a listing or a log never
 * carries control characters, line breaks or broken UTF-16, and must be reachable by a path (not
 * `.` or `..`).
 *
 * Refusals are 409 WebMessages with DHIS2's error codes: E4000 (blank), E4002 (length), E4027
 * (characters; the message shows them as `\uXXXX`). Names already stored are never checked again:
 * such a queue can still be read, changed and deleted.
 */
import { ERROR_TEMPLATES, formatTemplate } from "../jobs/errors";
import { ApiError } from "../http/webmessage";

/** DHIS2's column width (characters, as PostgreSQL counts them: code points). */
export const QUEUE_NAME_MAX_LENGTH = 50;

/** Control characters (C0, DEL, C1), lone surrogates, and the line and paragraph separators. */
const UNPRINTABLE = /[\p{Cc}\p{Cs}\u2028\u2029]/u;

/** `.` and `..`: URL parsers resolve them (even as `%2e`), so no path could ever name such a queue. */
const DOT_SEGMENT = /^\.\.?$/;

/** The name with every refused character written as `\uXXXX`. */
function shown(name: string): string {
  return name.replace(new RegExp(UNPRINTABLE.source, "gu"), (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const refuse = (code: "E4000" | "E4002" | "E4027", args: unknown[]) =>
  new ApiError(409, formatTemplate(ERROR_TEMPLATES[code], args), { errorCode: code });

/** The problem with a name about to be stored, or null when it may be stored. */
export function queueNameProblem(name: string): ApiError | null {
  if (name.trim() === "") return refuse("E4000", ["name"]);
  const length = [...name].length;
  if (length > QUEUE_NAME_MAX_LENGTH) return refuse("E4002", ["name", 1, QUEUE_NAME_MAX_LENGTH, length]);
  if (UNPRINTABLE.test(name) || DOT_SEGMENT.test(name)) return refuse("E4027", [shown(name), "name"]);
  return null;
}

/** Throws the 409 WebMessage for a name that may not be stored. */
export function checkQueueName(name: string): void {
  const problem = queueNameProblem(name);
  if (problem) throw problem;
}
