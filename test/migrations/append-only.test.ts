/**
 * D1 migrations are append-only (docs/CONVENTIONS.md): a migration applied somewhere is recorded by
 * name in that database's d1_migrations table, so renaming, removing, reordering or editing it breaks
 * every database migrated before. migrations/manifest.json lists each committed file with the SHA-256
 * of its text; the files on disk must be exactly that list, and a new file is appended with the next
 * number. Also: the repair of databases migrated before the two renames of commit c324e6b.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import manifest from "../../migrations/manifest.json";

/** Up to this number migrations were numbered in module ranges; every later one takes the next number. */
const LAST_RANGED = 61;

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text.replace(/\r\n/g, "\n")));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const numberOf = (name: string) => Number(/^(\d{4})_[a-z0-9_]+\.sql$/.exec(name)?.[1] ?? Number.NaN);

describe("D1 migrations are append-only", () => {
  it("the committed files are exactly the manifest, in order, unedited", async () => {
    const files = Object.keys(env.TEST_MIGRATION_FILES).sort();
    const listed = manifest.migrations.map((m) => m.name);
    const unlisted = files.filter((f) => !listed.includes(f));
    const hints = await Promise.all(unlisted.map(async (name) => ({ name, sha256: await sha256(env.TEST_MIGRATION_FILES[name]) })));
    expect(unlisted, `new migration(s): append to migrations/manifest.json ${JSON.stringify(hints)}`).toEqual([]);
    expect(files, "a listed migration was removed or renamed").toEqual(listed);
    for (const entry of manifest.migrations) {
      expect(await sha256(env.TEST_MIGRATION_FILES[entry.name]), `${entry.name} was edited: add a new migration instead`).toBe(
        entry.sha256,
      );
    }
  });

  it("numbers strictly increase, and after the module ranges each takes the next number", () => {
    const numbers = manifest.migrations.map((m) => numberOf(m.name));
    expect(numbers.every(Number.isInteger), "names are NNNN_snake_case.sql").toBe(true);
    for (let i = 1; i < numbers.length; i++) {
      expect(numbers[i], manifest.migrations[i].name).toBeGreaterThan(numbers[i - 1]);
      if (numbers[i] > LAST_RANGED) expect(numbers[i], `${manifest.migrations[i].name} must be the next number`).toBe(numbers[i - 1] + 1);
    }
    expect(numbers).toContain(LAST_RANGED);
  });

  it("the test database was migrated with exactly these files", () => {
    expect(env.TEST_MIGRATIONS.map((m) => m.name)).toEqual(manifest.migrations.map((m) => m.name));
  });
});

describe("repair of a database migrated before the renames (scripts/d1-migration-renames.sql)", () => {
  const statements = env.TEST_MIGRATION_REPAIR_SQL.replace(/^--.*$/gm, "")
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean);
  const repair = () => env.DB.batch(statements.map((s) => env.DB.prepare(s)));
  const applied = async () =>
    (await env.DB.prepare("SELECT id, name FROM d1_migrations ORDER BY id").all<{ id: number; name: string }>()).results;

  it("rewrites the old names to today's, keeps ids, and changes nothing when run again", async () => {
    const before = await applied();
    expect(before.map((r) => r.name)).toEqual(manifest.migrations.map((m) => m.name));
    const nonce = before.find((r) => r.name === "0051_executor_event_nonce.sql");
    const tokens = before.find((r) => r.name === "0002_token_attributes.sql");
    // As recorded by a database migrated before commit c324e6b.
    await env.DB.batch([
      env.DB.prepare("UPDATE d1_migrations SET name = '0070_executor_event_nonce.sql' WHERE name = '0051_executor_event_nonce.sql'"),
      env.DB.prepare("UPDATE d1_migrations SET name = '0080_token_attributes.sql' WHERE name = '0002_token_attributes.sql'"),
    ]);
    await repair();
    const after = await applied();
    expect(after).toEqual(before);
    expect(after.find((r) => r.id === nonce?.id)?.name).toBe("0051_executor_event_nonce.sql");
    expect(after.find((r) => r.id === tokens?.id)?.name).toBe("0002_token_attributes.sql");
    await repair();
    expect(await applied()).toEqual(before);
  });

  it("drops an old-name row when the new name was applied as well", async () => {
    const before = await applied();
    await env.DB.prepare("INSERT INTO d1_migrations (name) VALUES ('0070_executor_event_nonce.sql'), ('0080_token_attributes.sql')").run();
    expect((await applied()).length).toBe(before.length + 2);
    await repair();
    expect(await applied()).toEqual(before);
  });
});
