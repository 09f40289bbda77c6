import type { SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, checkInvariants } from '../../src/budget';
import { rows, sql } from '../../src/db';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ max: 2 });
});
afterAll(async () => {
  await database.drop();
});

/** The database's message when it refuses the statement. */
const refusal = (query: SQL) =>
  database.db.execute(query).then(
    () => 'allowed',
    (error: Error & { cause?: Error }) => (error.cause ?? error).message,
  );
const count = async () =>
  (await rows<{ n: number }>(database.db, sql`select count(*)::int as n from ledger_entries`))[0]!.n;

describe('ledger entries', () => {
  it('are append-only in the database: UPDATE, DELETE and TRUNCATE are refused, INSERT is not', async () => {
    const ledger = new Ledger(database.db, { now: () => new Date('2026-11-25T12:00:00Z') });
    const reserved = await ledger.reserve({ teamId: 'T1', channelId: 'C1', userId: 'U1', amountMc: mc(5_000) });
    if (!reserved.ok) throw new Error('refused');
    await ledger.commit(reserved.holds[0]!.id, mc(4_000));
    const before = await count();
    expect(before).toBeGreaterThan(0);

    expect(await refusal(sql`update ledger_entries set amount_mc = 0`)).toBe(
      'ledger_entries is append-only: UPDATE refused',
    );
    expect(await refusal(sql`delete from ledger_entries where kind = 'commit'`)).toBe(
      'ledger_entries is append-only: DELETE refused',
    );
    expect(await refusal(sql`truncate ledger_entries`)).toBe('ledger_entries is append-only: TRUNCATE refused');

    expect(await count()).toBe(before);
    const [entry] = await rows<{ amount_mc: number }>(
      database.db,
      sql`select amount_mc from ledger_entries where kind = 'commit'`,
    );
    expect(entry!.amount_mc).toBe(4_000);
    // The ledger's own writes are inserts and keep working.
    const again = await ledger.reserve({ teamId: 'T1', channelId: 'C1', userId: 'U1', amountMc: mc(1_000) });
    if (!again.ok) throw new Error('refused');
    await ledger.release(again.holds[0]!.id, 'test');
    expect(await count()).toBe(before + 2); // a reserve and a release on the workspace's one budget
    expect(await checkInvariants(database.db)).toEqual([]);
  });
});
