/**
 * Request path normalisation: DHIS2 clients call `/api/41/system/info`, `/api/system/info.json`
 * and `/api/system/id.csv`. Routing sees `/api/system/info`; the suffix becomes a format hint.
 */
export type Format = "json" | "csv" | "xml" | "jsonp";

const VERSIONED = /^\/api\/(?:2[89]|[3-9]\d)(?=\/|$)/;
const SUFFIX = /\.(json|csv|xml|jsonp)$/;

export function splitPath(pathname: string): { path: string; format?: Format } {
  let path = pathname.replace(VERSIONED, "/api");
  let format: Format | undefined;
  const m = SUFFIX.exec(path);
  if (m && path.startsWith("/api/")) {
    format = m[1] as Format;
    path = path.slice(0, -m[0].length);
  }
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return { path, format };
}

/** Hono `getPath`: the normalised path of a request. */
export function normalizedPath(req: Request): string {
  const url = req.url;
  const start = url.indexOf("/", url.indexOf("://") + 3);
  const q = url.indexOf("?", start);
  let pathname = q === -1 ? url.slice(start) : url.slice(start, q);
  try {
    // `%25` stays encoded (as in Hono's own getPath): the router decodes parameters once more, and
    // `%2541` must reach a route as `%41`, never as `A`.
    pathname = decodeURI(pathname.replace(/%25/g, "%2525"));
  } catch {
    // Keep the raw path: routing will answer 404 for it.
  }
  return splitPath(pathname).path;
}

export function requestFormat(req: Request): Format | undefined {
  return splitPath(new URL(req.url).pathname).format;
}
