/**
 * A small description language for job parameters. One list of `ParamSpec`s per parameters class
 * yields everything the API needs: the lenient zod input schema (Jackson-like: numeric strings are
 * numbers, `""`/null are absent, scalars coerce to strings, unknown members are dropped), DHIS2's
 * Property metadata for `/jobTypes`, the default object, and the generic rules (required → E4000,
 * ranges → E4008, UIDs → E4014). Type-specific rules are added with `validate`.
 */
import { z } from "zod";
import type { ErrorReport } from "../http/webmessage";
import { isValidUid } from "../http/uid";
import { errorReport } from "./errors";
import type { JobParametersDef, JobProperty, ParametersResult } from "./types";

export const PARAMETERS_PACKAGE = "org.hisp.dhis.scheduling.parameters";

interface BaseSpec {
  name: string;
  /** `@JsonProperty(required = true)`; absence (or an empty collection) gives E4000. */
  required?: boolean;
  /**
   * Values (or every element) must be UIDs, else E4014. Only where DHIS2's parameters class checks it
   * (2.42: MonitoringJobParameters.validationRuleGroups); other lists that name DHIS2 objects keep
   * whatever ids the client sends, as DHIS2 stores them.
   */
  uid?: boolean;
  /** `relativeApiEndpoint` shown to clients (where the options of a list come from). */
  endpoint?: string;
}

export interface NumberSpec extends BaseSpec {
  /** `int`/`long` are Java primitives (absent → 0); `Integer`/`Long` may be absent. */
  type: "int" | "Integer" | "long" | "Long";
  default?: number;
  /** Allowed range (inclusive), checked when a value is present: E4008. */
  min?: number;
  max?: number;
}

export interface BooleanSpec extends BaseSpec {
  type: "boolean" | "Boolean";
  default?: boolean;
}

export interface StringSpec extends BaseSpec {
  type: "String";
  default?: string;
  maxLength?: number;
}

export interface EnumSpec extends BaseSpec {
  type: "enum";
  klass: string;
  constants: readonly string[];
  default?: string;
}

export interface CollectionSpec extends BaseSpec {
  type: "Set" | "List";
  /** `String` items, or an enum (klass + constants in DHIS2's order). */
  item: "String" | { klass: string; constants: readonly string[] };
  default?: readonly string[];
  /** Safety cap on the number of elements. */
  maxItems?: number;
}

export type ParamSpec = NumberSpec | BooleanSpec | StringSpec | EnumSpec | CollectionSpec;

const JAVA_INT = { min: -2147483648, max: 2147483647 };
const JAVA_LONG = { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };
const DEFAULT_MAX_ITEMS = 10_000;
const MAX_STRING = 10_000;

/** `skipTableTypes` → `Skip table types` (DHIS2's Property.fieldName). */
export function prettyFieldName(name: string): string {
  const words = name
    .replace(/([A-Z])/g, " $1")
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const blank = (v: unknown) => v === "" || v === null || v === undefined;

function numberSchema(spec: NumberSpec) {
  const range = spec.type === "int" || spec.type === "Integer" ? JAVA_INT : JAVA_LONG;
  const klass = spec.type === "int" || spec.type === "Integer" ? "java.lang.Integer" : "java.lang.Long";
  return z.preprocess(
    (v) => {
      if (blank(v)) return undefined;
      if (typeof v === "string" && /^\s*[+-]?\d+(\.0+)?\s*$/.test(v)) return Number(v);
      return v;
    },
    z
      .number({ error: `expected ${klass}` })
      .int({ error: `expected ${klass}` })
      .min(range.min, { error: `out of range for ${klass}` })
      .max(range.max, { error: `out of range for ${klass}` })
      .optional(),
  );
}

function booleanSchema() {
  return z.preprocess((v) => {
    if (blank(v)) return undefined;
    if (typeof v === "string") {
      const t = v.trim().toLowerCase();
      if (t === "true") return true;
      if (t === "false") return false;
    }
    if (v === 1 || v === 0) return v === 1;
    return v;
  }, z.boolean({ error: "expected java.lang.Boolean" }).optional());
}

function scalarToString(v: unknown): unknown {
  return typeof v === "number" || typeof v === "boolean" ? String(v) : v;
}

function stringSchema(spec: StringSpec) {
  return z.preprocess(
    (v) => (blank(v) ? undefined : scalarToString(v)),
    z
      .string({ error: "expected java.lang.String" })
      .max(spec.maxLength ?? MAX_STRING, { error: `longer than ${spec.maxLength ?? MAX_STRING} characters` })
      .optional(),
  );
}

function enumValue(constants: readonly string[]) {
  const byUpper = new Map(constants.map((c) => [c.toUpperCase(), c]));
  return z.preprocess(
    (v) => (typeof v === "string" ? (byUpper.get(v.trim().toUpperCase()) ?? v) : v),
    z.enum(constants as [string, ...string[]], { error: `Valid values are: [${constants.join(", ")}]` }),
  );
}

function enumSchema(spec: EnumSpec) {
  return z.preprocess((v) => (blank(v) ? undefined : v), enumValue(spec.constants).optional());
}

function collectionSchema(spec: CollectionSpec) {
  const item =
    spec.item === "String"
      ? z.preprocess(scalarToString, z.string({ error: "expected a list of java.lang.String" }).max(MAX_STRING))
      : enumValue(spec.item.constants);
  const max = spec.maxItems ?? DEFAULT_MAX_ITEMS;
  return z.preprocess(
    (v) => {
      if (blank(v)) return undefined;
      // Jackson's ACCEPT_SINGLE_VALUE_AS_ARRAY is off, but a lone string is a common client slip: accept it.
      if (typeof v === "string") return [v];
      return v;
    },
    z
      .array(item, { error: `expected a JSON array (${spec.type === "Set" ? "java.util.Set" : "java.util.List"})` })
      .max(max, { error: `more than ${max} elements` })
      .transform((arr) => (spec.type === "Set" ? [...new Set(arr)] : arr))
      .optional(),
  );
}

export function fieldSchema(spec: ParamSpec): z.ZodType<unknown> {
  switch (spec.type) {
    case "int":
    case "Integer":
    case "long":
    case "Long":
      return numberSchema(spec);
    case "boolean":
    case "Boolean":
      return booleanSchema();
    case "String":
      return stringSchema(spec);
    case "enum":
      return enumSchema(spec);
    case "Set":
    case "List":
      return collectionSchema(spec);
  }
}

function defaultOf(spec: ParamSpec): unknown {
  if (spec.default !== undefined) return Array.isArray(spec.default) ? [...spec.default] : spec.default;
  if (spec.type === "int" || spec.type === "long") return 0;
  if (spec.type === "boolean") return false;
  return undefined;
}

/** DHIS2's Property JSON for one parameter. */
export function toProperty(spec: ParamSpec): JobProperty {
  const collection = spec.type === "Set" || spec.type === "List";
  let klass: string;
  let propertyType: string;
  switch (spec.type) {
    case "int":
    case "Integer":
      klass = "java.lang.Integer";
      propertyType = "INTEGER";
      break;
    case "long":
    case "Long":
      klass = "java.lang.Long";
      propertyType = "INTEGER";
      break;
    case "boolean":
    case "Boolean":
      klass = "java.lang.Boolean";
      propertyType = "BOOLEAN";
      break;
    case "String":
      klass = "java.lang.String";
      propertyType = "TEXT";
      break;
    case "enum":
      klass = spec.klass;
      propertyType = "CONSTANT";
      break;
    default:
      klass = spec.type === "Set" ? "java.util.Set" : "java.util.List";
      propertyType = "COLLECTION";
  }
  const p: Partial<JobProperty> = { name: spec.name, fieldName: prettyFieldName(spec.name), klass, propertyType };
  if (collection) {
    const item = (spec as CollectionSpec).item;
    p.itemKlass = item === "String" ? "java.lang.String" : item.klass;
    p.itemPropertyType = item === "String" ? "TEXT" : "CONSTANT";
  }
  p.collection = collection;
  if (collection) p.collectionName = spec.name;
  p.required = spec.required === true;
  const def = defaultOf(spec);
  if (def !== undefined) p.defaultValue = def;
  const constants =
    spec.type === "enum"
      ? spec.constants
      : collection && (spec as CollectionSpec).item !== "String"
        ? ((spec as CollectionSpec).item as { constants: readonly string[] }).constants
        : undefined;
  if (constants) p.constants = [...constants];
  if (spec.endpoint) p.relativeApiEndpoint = spec.endpoint;
  if (spec.type === "int" || spec.type === "Integer" || spec.type === "long" || spec.type === "Long") {
    if (spec.min !== undefined) p.min = spec.min;
    if (spec.max !== undefined) p.max = spec.max;
  }
  Object.assign(p, {
    persisted: false,
    attribute: false,
    simple: !collection,
    ordered: spec.type === "List",
    owner: false,
    identifiableObject: false,
    nameableObject: false,
    embeddedObject: false,
    analyticalObject: false,
    readable: true,
    writable: true,
    unique: false,
    manyToMany: false,
    oneToOne: false,
    manyToOne: false,
    translatable: false,
  });
  return p as JobProperty;
}

/** Helpers handed to type-specific validation. */
export interface ValidationContext {
  klass: string;
  missing(property: string): ErrorReport;
  range(property: string, min: number, max: number, value: unknown): ErrorReport;
  invalidUid(property: string, value: unknown): ErrorReport;
}

export interface ParametersOptions {
  /** Java simple class name, e.g. `AnalyticsJobParameters` (package added). */
  klass: string;
  specs: ParamSpec[];
  /** Type-specific rules, run after the generic ones on the normalised value. */
  validate?: (value: Record<string, unknown>, ctx: ValidationContext) => ErrorReport[];
}

/**
 * The parameters of one class. Nothing is built at module load (56 job types would cost tens of ms of
 * every cold start): the zod schemas on the first `parse` or `schema`, the Property list on the
 * first `properties`; then they are kept.
 */
export function defineParameters(opts: ParametersOptions): JobParametersDef {
  const klass = opts.klass.includes(".") ? opts.klass : `${PARAMETERS_PACKAGE}.${opts.klass}`;
  let fieldSchemas: (readonly [ParamSpec, z.ZodType<unknown>])[] | undefined;
  let objectSchema: z.ZodType<Record<string, unknown>> | undefined;
  let propertyList: JobProperty[] | undefined;
  const fields = () => (fieldSchemas ??= opts.specs.map((s) => [s, fieldSchema(s)] as const));
  const ctx: ValidationContext = {
    klass,
    missing: (property) => errorReport(klass, "E4000", [property], { errorProperty: property }),
    range: (property, min, max, value) => errorReport(klass, "E4008", [property, min, max, value], { errorProperty: property }),
    invalidUid: (property, value) => errorReport(klass, "E4014", [value, property], { errorProperty: property }),
  };

  const defaults = () => {
    const out: Record<string, unknown> = {};
    for (const s of opts.specs) {
      const d = defaultOf(s);
      if (d !== undefined) out[s.name] = d;
    }
    return out;
  };

  const parse = (raw: unknown): ParametersResult => {
    const errors: ErrorReport[] = [];
    let input: Record<string, unknown> = {};
    if (raw !== undefined && raw !== null && raw !== "") {
      if (typeof raw !== "object" || Array.isArray(raw)) {
        errors.push(errorReport(klass, "E1003", ["jobParameters", "expected a JSON object"], { errorProperty: "jobParameters" }));
        return { value: defaults(), errors };
      }
      input = raw as Record<string, unknown>;
    }
    const value: Record<string, unknown> = {};
    for (const [s, f] of fields()) {
      const has = Object.hasOwn(input, s.name);
      const r = f.safeParse(has ? input[s.name] : undefined);
      if (!r.success) {
        const detail = r.error.issues[0]?.message ?? "invalid value";
        errors.push(errorReport(klass, "E1003", [s.name, detail], { errorProperty: s.name, value: input[s.name] }));
        const d = defaultOf(s);
        if (d !== undefined) value[s.name] = d;
        continue;
      }
      const v = r.data === undefined ? defaultOf(s) : r.data;
      if (v !== undefined) value[s.name] = v;
    }
    if (errors.length > 0) return { value, errors };
    for (const s of opts.specs) {
      const v = value[s.name];
      if (s.required && (v === undefined || (Array.isArray(v) && v.length === 0))) {
        errors.push(ctx.missing(s.name));
        continue;
      }
      if ((s.type === "int" || s.type === "Integer" || s.type === "long" || s.type === "Long") && typeof v === "number") {
        const javaRange = s.type === "int" || s.type === "Integer" ? JAVA_INT : JAVA_LONG;
        const min = s.min ?? javaRange.min;
        const max = s.max ?? javaRange.max;
        if (v < min || v > max) errors.push(ctx.range(s.name, min, max, v));
      }
      if (s.uid) {
        const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
        const bad = list.find((x) => !isValidUid(x));
        if (bad !== undefined) errors.push(ctx.invalidUid(s.name, bad));
      }
    }
    if (opts.validate) errors.push(...opts.validate(value, ctx));
    return { value, errors };
  };

  return {
    klass,
    get schema() {
      if (!objectSchema) {
        const shape: Record<string, z.ZodType<unknown>> = {};
        for (const [s, f] of fields()) shape[s.name] = f;
        objectSchema = z.object(shape).describe(`Parameters (${opts.klass})`);
      }
      return objectSchema;
    },
    get properties() {
      propertyList ??= opts.specs.map(toProperty);
      return propertyList;
    },
    defaults,
    parse,
  };
}
