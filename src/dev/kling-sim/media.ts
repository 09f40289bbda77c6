import { mkdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The result files the simulator serves itself at /media/<name>: a real, playable MP4 for every video and a real
 * PNG for every image (the test pattern in fixtures/). With a directory they are kept on disk, so the links of
 * an earlier run keep working after a restart on the same directory and port; without one, in memory.
 */
export class Media {
  private readonly names = new Set<string>();
  private readonly writes = new Set<Promise<void>>();

  constructor(private readonly dir?: string) {
    if (dir) mkdirSync(dir, { recursive: true });
  }

  /** Makes a result file and answers its path on the server. */
  add(name: string): string {
    this.names.add(name);
    if (this.dir) {
      const write = writeFile(join(this.dir, name), fixture(name)).finally(() => this.writes.delete(write));
      this.writes.add(write);
    }
    return `/media/${name}`;
  }

  /** The bytes and content type served at this path, or undefined when there is no such file. */
  async read(path: string): Promise<{ type: string; bytes: Buffer } | undefined> {
    const name = /^\/media\/([\w-]+\.(?:mp4|png))$/.exec(path)?.[1];
    if (!name) return undefined;
    const type = name.endsWith('.png') ? 'image/png' : 'video/mp4';
    if (this.names.has(name) && !this.dir) return { type, bytes: fixture(name) };
    if (!this.dir) return undefined;
    await Promise.all(this.writes);
    try {
      return { type, bytes: await readFile(join(this.dir, name)) };
    } catch {
      return undefined;
    }
  }

  /** Waits for files still being written. */
  async flush(): Promise<void> {
    await Promise.all(this.writes);
  }
}

const fixtures = new Map<string, Buffer>();
/** The test-pattern clip or still a result name's extension asks for. */
function fixture(name: string): Buffer {
  const file = name.endsWith('.png') ? 'test-pattern.png' : 'test-pattern.mp4';
  let bytes = fixtures.get(file);
  if (!bytes) {
    bytes = readFileSync(new URL(`./fixtures/${file}`, import.meta.url));
    fixtures.set(file, bytes);
  }
  return bytes;
}
