import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRows, openDatabase, type Database } from '../../src/db';
import { generations } from '../../src/db/schema';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

/** insertRows must give what drizzle's insert(...).values(...).returning() gives, on both drivers. */
describe('insertRows', () => {
  let server: TestDatabase;
  let embedded: Database;
  beforeAll(async () => {
    server = await createTestDatabase({ max: 2 });
    embedded = await openDatabase({ dataDir: 'memory://' });
  });
  afterAll(async () => {
    await embedded?.close();
    await server?.drop();
  });

  const row = (id: string, more: Partial<typeof generations.$inferInsert> = {}): typeof generations.$inferInsert => ({
    id,
    teamId: 'T1',
    channelId: 'C1',
    userId: 'U1',
    endpoint: 'text2video',
    requestKey: 'k',
    estimateMc: mc(9_007_199_254_740),
    request: { prompt: 'a "quoted" fox \u{1F98A}', nested: { n: [1, 2] } },
    ...more,
  });

  it.each(['postgres', 'pglite'])(
    'on %s: defaults for what is left out, typed values back, in array order',
    async (driver) => {
      const { db } = driver === 'postgres' ? server : embedded;
      const later = new Date('2030-01-02T03:04:05.678Z');
      const values = [
        row(`${driver}-a`),
        row(`${driver}-b`, { state: 'refused', endedAt: later, nextAttemptAt: later }),
        row(`${driver}-c`),
      ];
      const before = Date.now() - 60_000;
      const inserted = await insertRows(db, generations, values);
      expect(inserted.map((g) => g.id)).toEqual(values.map((v) => v.id));
      const [a, b, c] = inserted;
      expect(a).toMatchObject({
        state: 'queued',
        attempts: 0,
        estimateMc: 9_007_199_254_740,
        request: values[0]!.request,
        endedAt: null,
        holdId: null,
      });
      expect(a!.nextAttemptAt).toBeInstanceOf(Date);
      expect(a!.nextAttemptAt.getTime()).toBeGreaterThan(before);
      expect(b).toMatchObject({ state: 'refused', endedAt: later, nextAttemptAt: later });
      expect(a!.seq).toBeLessThan(b!.seq);
      expect(b!.seq).toBeLessThan(c!.seq);
      expect(
        await db
          .select()
          .from(generations)
          .then((all) => all.find((g) => g.id === a!.id)),
      ).toEqual(a);
      expect(await insertRows(db, generations, [])).toEqual([]);
      // An explicit null is NULL, not the default, as in drizzle: here a NOT NULL column refuses it.
      await expect(
        insertRows(db, generations, [row(`${driver}-d`, { nextAttemptAt: null as never })]),
      ).rejects.toThrow();
      await expect(
        insertRows(db, generations, [
          row(`${driver}-e`, { notBefore: new Date(Number.NaN), nextAttemptAt: new Date(Number.NaN) }),
        ]),
      ).rejects.toThrow();
    },
  );
});
