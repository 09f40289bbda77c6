import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase, type Database } from '../../src/db';

/** Where the tests look for Postgres when TEST_DATABASE_URL names none: a local server with trust auth. */
export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * The server every ledger and queue test runs against: real Postgres. Read on each call, because the global setup
 * sets TEST_DATABASE_URL after it starts a throw-away server, before the test workers start.
 */
export function adminUrl(): string {
  return process.env.TEST_DATABASE_URL || DEFAULT_ADMIN_URL;
}

export interface TestDatabase extends Database {
  url: string;
  name: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

function urlFor(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh, migrated database of its own, so test files never see each other's rows. */
export async function createTestDatabase(options: { max?: number } = {}): Promise<TestDatabase> {
  // The creation time in the name lets the global setup clear only databases that killed runs left behind.
  const name = `kbb_test_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = urlFor(name);
  const database = await openDatabase({ url, max: options.max ?? 10 });
  return {
    ...database,
    url,
    name,
    async drop() {
      await database.close();
      await dropDatabase(name);
    },
  };
}

async function dropDatabase(name: string): Promise<void> {
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}
