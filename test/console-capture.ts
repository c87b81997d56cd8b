/** What a test writes to the console, captured: every line, and those that are JSON (logEvent's lines). */
import { vi } from "vitest";

export async function captureConsole(
  fn: () => Promise<unknown>,
  methods: readonly ("log" | "warn" | "error")[] = ["log", "warn", "error"],
): Promise<{ raw: string[]; json: Record<string, any>[] }> {
  const raw: string[] = [];
  const spies = methods.map((m) =>
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      raw.push(args.map(String).join(" "));
    }),
  );
  try {
    await fn();
  } finally {
    for (const s of spies) s.mockRestore();
  }
  const json = raw.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, any>];
    } catch {
      return [];
    }
  });
  return { raw, json };
}
