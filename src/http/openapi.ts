/**
 * OpenAPI building blocks shared by every router: DHIS2's WebMessage and ErrorReport (the one error
 * envelope of the API, `webmessage.ts` builds it), JSON content and error-response declarations.
 * The only registered `WebMessage` component: routers import it from here, never declare their own.
 */
import { z } from "@hono/zod-openapi";

export const ErrorReportSchema = z
  .object({
    message: z.string(),
    mainKlass: z.string(),
    mainId: z.string().optional(),
    errorKlass: z.string().optional(),
    errorProperty: z.string().optional(),
    errorProperties: z.array(z.unknown()),
    errorCode: z.string(),
    args: z.array(z.string()),
    value: z.unknown().optional(),
  })
  .openapi("ErrorReport");

export const WebMessageSchema = z
  .object({
    httpStatus: z.string(),
    httpStatusCode: z.number().int(),
    status: z.enum(["OK", "WARNING", "ERROR"]),
    errorCode: z.string().optional(),
    message: z.string().optional(),
    response: z
      .object({
        responseType: z.string(),
        uid: z.string().optional(),
        klass: z.string(),
        errorReports: z.array(ErrorReportSchema),
      })
      .optional(),
  })
  .openapi("WebMessage");

/** DHIS2's list `pager` (src/http/pager.ts builds it). */
export const PagerSchema = z
  .object({
    page: z.number().int(),
    total: z.number().int(),
    pageSize: z.number().int(),
    pageCount: z.number().int(),
    nextPage: z.string().optional(),
    prevPage: z.string().optional(),
  })
  .openapi("Pager");

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const errorResponses = (...codes: number[]) => {
  const text: Record<number, string> = {
    400: "Invalid parameter or body",
    401: "Unauthorized",
    403: "Missing authority",
    404: "Not found",
    409: "Conflict: validation errors (ObjectReport) or a refused change",
    413: "Body too large",
  };
  const out: Record<number, ReturnType<typeof jsonContent>> = {};
  for (const c of codes) out[c] = jsonContent(WebMessageSchema, text[c] ?? "Error");
  return out;
};
