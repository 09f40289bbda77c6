import postgres from 'postgres';
import { ADMIN_URL } from './db';

/** Fails fast with a clear line when Postgres is down, and clears databases left by killed runs. */
export default async function setup(): Promise<void> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await admin`select 1`;
    // Another run may be using its databases right now: only those more than an hour old are left over.
    const cutoff = Math.floor(Date.now() / 1000) - 3600;
    const stale = await admin<{ datname: string }[]>`
      select datname from pg_database
      where datname ~ '^kbb_test_[0-9]+_' and split_part(datname, '_', 3)::bigint < ${cutoff}`;
    for (const { datname } of stale) await admin.unsafe(`drop database if exists ${datname} with (force)`);
  } catch (error) {
    throw new Error(`Tests need PostgreSQL at ${ADMIN_URL} (start it, or set TEST_DATABASE_URL): ${(error as Error).message}`);
  } finally {
    await admin.end();
  }
}
