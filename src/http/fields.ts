/**
 * DHIS2's field filter (`fields=` parameter): `*`, presets (`:all`, `:identifiable`, `:nameable`,
 * `:owner`, `:simple`), plain names, nested selections `a[b,c]` and exclusions `!x`.
 * The result keeps the object's own member order.
 */
export interface FieldSelection {
  all: boolean;
  include: Map<string, FieldSelection | null>;
  exclude: Set<string>;
  presets: Set<string>;
}

const emptySelection = (): FieldSelection => ({ all: false, include: new Map(), exclude: new Set(), presets: new Set() });

/** Splits on top-level commas (commas inside brackets belong to the nested selection). */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "[" || ch === "(") depth++;
    else if ((ch === "]" || ch === ")") && depth > 0) depth--;
    else if (ch === "," && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== "");
}

const MAX_DEPTH = 8;

export function parseFields(texts: string | string[] | undefined, depth = 0): FieldSelection {
  const sel = emptySelection();
  const list = texts === undefined ? [] : Array.isArray(texts) ? texts : [texts];
  for (const text of list) {
    for (const item of splitTopLevel(text)) {
      if (item === "*" || item === ":all") {
        sel.all = true;
      } else if (item.startsWith(":")) {
        sel.presets.add(item.slice(1));
      } else if (item.startsWith("!")) {
        sel.exclude.add(item.slice(1).replace(/[[(].*$/, ""));
      } else {
        const m = /^([^[(]+)[[(](.*)[\])]$/.exec(item);
        if (m) {
          const name = m[1].trim();
          const nested = depth < MAX_DEPTH ? parseFields(m[2], depth + 1) : emptySelection();
          const prev = sel.include.get(name);
          sel.include.set(name, prev ? mergeSelections(prev, nested) : nested);
        } else {
          const name = item.replace(/~.*$/, "").replace(/::.*$/, "").trim();
          if (!sel.include.has(name)) sel.include.set(name, null);
        }
      }
    }
  }
  return sel;
}

function mergeSelections(a: FieldSelection, b: FieldSelection): FieldSelection {
  const include = new Map(a.include);
  for (const [k, v] of b.include) include.set(k, v ?? include.get(k) ?? null);
  return {
    all: a.all || b.all,
    include,
    exclude: new Set([...a.exclude, ...b.exclude]),
    presets: new Set([...a.presets, ...b.presets]),
  };
}

export function isEmptySelection(sel: FieldSelection): boolean {
  return !sel.all && sel.include.size === 0 && sel.presets.size === 0;
}

/** The names a selection can need at the top level (null = all of them). */
export function selectedNames(sel: FieldSelection, presets: Record<string, string[]> = {}): Set<string> | null {
  if (sel.all) return null;
  const names = new Set(sel.include.keys());
  for (const p of sel.presets) {
    const expansion = presets[p];
    if (!expansion) return null;
    for (const n of expansion) names.add(n);
  }
  return names;
}

/**
 * Applies a selection to a value. `presets` maps preset names (without the colon) to member lists;
 * an unknown preset behaves like `*`.
 */
export function applyFields(value: unknown, sel: FieldSelection, presets: Record<string, string[]> = {}): unknown {
  if (Array.isArray(value)) return value.map((v) => applyFields(v, sel, presets));
  if (value === null || typeof value !== "object") return value;
  if (isEmptySelection(sel)) return value;
  const obj = value as Record<string, unknown>;
  const names = selectedNames(sel, presets);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    if (sel.exclude.has(key)) continue;
    if (names !== null && !names.has(key)) continue;
    const nested = sel.include.get(key);
    const v = obj[key];
    if (v === undefined) continue;
    out[key] = nested ? applyFields(v, nested, presets) : v;
  }
  return out;
}
