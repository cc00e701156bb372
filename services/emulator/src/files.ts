import { openAiError } from "./errors.ts";
import { randomId } from "./hash.ts";

export interface StoredFile {
  id: string;
  bytes: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
  filename: string;
  purpose: string;
  content: Buffer;
}

/** The OpenAI `File` object. */
export interface OpenAiFileObject {
  id: string;
  object: "file";
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: "processed";
  status_details: null;
  expires_at: null;
}

export function fileObject(file: StoredFile): OpenAiFileObject {
  return {
    id: file.id,
    object: "file",
    bytes: file.bytes,
    created_at: Math.floor(file.createdAt / 1000),
    filename: file.filename,
    purpose: file.purpose,
    status: "processed",
    status_details: null,
    expires_at: null,
  };
}

/** In-memory file storage with a total-size quota (uploads beyond it are refused, as an org quota would). */
export class FileStore {
  private readonly files = new Map<string, StoredFile>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  add(params: { filename: string; purpose: string; content: Buffer }, now: number): StoredFile {
    if (this.bytes + params.content.length > this.maxBytes) {
      throw openAiError(400, `File storage quota exceeded: storing ${params.content.length} more bytes would exceed the limit of ${this.maxBytes} bytes. Delete files to free space.`, {
        code: "quota_exceeded",
      });
    }
    const file: StoredFile = { id: randomId("file-", 22), bytes: params.content.length, createdAt: now, ...params };
    this.files.set(file.id, file);
    this.bytes += file.bytes;
    return file;
  }

  get(id: string): StoredFile | undefined {
    return this.files.get(id);
  }

  delete(id: string): boolean {
    const file = this.files.get(id);
    if (!file) return false;
    this.files.delete(id);
    this.bytes -= file.bytes;
    return true;
  }

  /** Newest first. */
  list(purpose?: string): StoredFile[] {
    return [...this.files.values()].filter((f) => purpose === undefined || f.purpose === purpose).reverse();
  }

  get totalBytes(): number {
    return this.bytes;
  }

  clear(): void {
    this.files.clear();
    this.bytes = 0;
  }
}

export function fileNotFound(id: string) {
  return openAiError(404, `No such File object: ${id}`, { param: "id" });
}
