import postgres from 'postgres';
import { ADMIN_URL } from './db';

/** Fails fast with a clear line when Postgres is down, and clears databases left by killed runs. */
export default async function setup(): Promise<void> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await admin`select 1`;
    const stale = await admin<{ datname: string }[]>`
      select datname from pg_database where datname like 'kbb_test_%'
      and not exists (select 1 from pg_stat_activity a where a.datname = pg_database.datname)`;
    for (const { datname } of stale) await admin.unsafe(`drop database if exists ${datname}`);
  } catch (error) {
    throw new Error(`Tests need PostgreSQL at ${ADMIN_URL} (start it, or set TEST_DATABASE_URL): ${(error as Error).message}`);
  } finally {
    await admin.end();
  }
}
