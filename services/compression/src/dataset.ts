import { readFileSync } from "node:fs";
import { z } from "zod";

/** One QA example with gold answers and the passages to compress (the compress_* and fixture formats). */
export const qaRowSchema = z.object({
  id: z.string(),
  question: z.string().min(1),
  answers: z.array(z.string()).min(1),
  passages: z.array(z.object({ title: z.string().optional(), text: z.string() })).min(1),
});
export type QaRow = z.infer<typeof qaRowSchema>;

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export function parseQaJsonl(text: string, source: string): QaRow[] {
  const rows: QaRow[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      throw new DatasetError(`${source}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    const parsed = qaRowSchema.safeParse(raw);
    if (!parsed.success) throw new DatasetError(`${source}:${i + 1}: ${parsed.error.issues.map((x) => `${x.path.join(".")}: ${x.message}`).join("; ")}`);
    rows.push(parsed.data);
  });
  if (rows.length === 0) throw new DatasetError(`${source}: no rows`);
  return rows;
}

export const readQaJsonl = (path: string): QaRow[] => parseQaJsonl(readFileSync(path, "utf8"), path);
