import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, rows, sql } from '../../src/db';
import { workspaces } from '../../src/db/schema';
import { createTestDatabase, type TestDatabase } from '../support/db';

describe('openDatabase', () => {
  let server: TestDatabase | undefined;
  afterAll(async () => server?.drop());

  it('runs the same migrations on embedded PGlite and on Postgres', async () => {
    server = await createTestDatabase();
    const embedded = await openDatabase({ dataDir: 'memory://' });
    try {
      for (const { db } of [embedded, server]) {
        await db.insert(workspaces).values({ teamId: 'T1', timezone: 'Europe/Berlin' });
        const [row] = await rows<{ n: number; tables: number }>(
          db,
          sql`
          select 9007199254740::bigint as n,
                 (select count(*) from information_schema.tables where table_schema = 'public')::int as tables`,
        );
        expect(row).toEqual({ n: 9007199254740, tables: expect.any(Number) });
        expect(row!.tables).toBeGreaterThanOrEqual(7);
      }
      await embedded.ping();
      await server.ping();
    } finally {
      await embedded.close();
    }
  });

  it('migrates once when several replicas start together', async () => {
    const replicas = await Promise.all([1, 2, 3].map(() => openDatabase({ url: server!.url, max: 1 })));
    const [journal] = await rows<{ n: number }>(
      replicas[0]!.db,
      sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
    );
    await Promise.all(replicas.map((r) => r.close()));
    expect(journal!.n).toBeGreaterThanOrEqual(1);
  });
});
