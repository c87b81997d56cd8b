/**
 * DHIS2 WebMessages: the envelope of every error and write result.
 * Members are emitted in DHIS2's order and absent members are omitted (Jackson NON_NULL).
 */
export type WebMessageStatus = "OK" | "WARNING" | "ERROR";

export const REASON_PHRASES: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export interface WebMessage {
  httpStatus: string;
  httpStatusCode: number;
  status: WebMessageStatus;
  code?: number;
  errorCode?: string;
  message?: string;
  devMessage?: string;
  response?: unknown;
}

export interface WebMessageInit {
  status?: WebMessageStatus;
  errorCode?: string;
  message?: string;
  devMessage?: string;
  response?: unknown;
}

export function webMessage(httpStatusCode: number, init: WebMessageInit = {}): WebMessage {
  const msg: WebMessage = {
    httpStatus: REASON_PHRASES[httpStatusCode] ?? "Unknown",
    httpStatusCode,
    status: init.status ?? (httpStatusCode >= 400 ? "ERROR" : "OK"),
  };
  if (init.errorCode !== undefined) msg.errorCode = init.errorCode;
  if (init.message !== undefined) msg.message = init.message;
  if (init.devMessage !== undefined) msg.devMessage = init.devMessage;
  if (init.response !== undefined) msg.response = init.response;
  return msg;
}

/** One entry of an ObjectReport's `errorReports` (DHIS2 ErrorReport). */
export interface ErrorReport {
  message: string;
  mainKlass: string;
  mainId?: string;
  errorKlass?: string;
  errorProperty?: string;
  errorProperties: string[];
  errorCode: string;
  args: string[];
  value?: unknown;
}

export interface ObjectReport {
  responseType: "ObjectReport";
  uid?: string;
  klass: string;
  errorReports: ErrorReport[];
}

export function objectReport(klass: string, uid: string | undefined, errorReports: ErrorReport[] = []): ObjectReport {
  // DHIS2's member order: responseType, uid, klass, errorReports.
  return uid === undefined
    ? { responseType: "ObjectReport", klass, errorReports }
    : { responseType: "ObjectReport", uid, klass, errorReports };
}

export const IMPORT_REPORT_MESSAGE = "One or more errors occurred, please see full details in import report.";

/**
 * Any failure the API reports. Thrown from anywhere; the app's error handler turns it into a
 * WebMessage response with the HTTP status taken from `httpStatusCode`.
 */
export class ApiError extends Error {
  readonly httpStatusCode: number;
  readonly init: WebMessageInit;
  readonly headers: Record<string, string>;

  constructor(httpStatusCode: number, message: string, init: Omit<WebMessageInit, "message"> = {}, headers: Record<string, string> = {}) {
    super(message);
    this.httpStatusCode = httpStatusCode;
    this.init = { ...init, message };
    this.headers = headers;
  }

  toWebMessage(): WebMessage {
    return webMessage(this.httpStatusCode, this.init);
  }
}

/** The most characters of a rejected input that a message repeats. */
export const ECHO_MAX_CHARS = 100;

/**
 * A rejected input as an error message repeats it: its text (JSON for non-strings), cut to
 * ECHO_MAX_CHARS characters and marked with `…`, so a megabyte of input never comes back.
 */
export function echo(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  if (text.length <= ECHO_MAX_CHARS) return text;
  let cut = text.slice(0, ECHO_MAX_CHARS);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1); // never half a surrogate pair
  return `${cut}…`;
}

export const badRequest = (message: string, errorCode = "E1003") => new ApiError(400, message, { errorCode });
export const conflict = (message: string, errorCode = "E1004") => new ApiError(409, message, { errorCode });
export const forbidden = (message: string, errorCode = "E1006") => new ApiError(403, message, { errorCode });
export const notFound = (message: string, errorCode = "E1005") => new ApiError(404, message, { errorCode });
export const notFoundObject = (klass: string, uid: string) => notFound(`${klass} with id ${uid} could not be found.`);

/** 409 ObjectReport with every validation error of one request. */
export function importReportConflict(klass: string, uid: string | undefined, errorReports: ErrorReport[]): ApiError {
  return new ApiError(409, IMPORT_REPORT_MESSAGE, { response: objectReport(klass, uid, errorReports) });
}
