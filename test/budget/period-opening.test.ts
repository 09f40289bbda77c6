// The first reservations of a period open its row; when many arrive at once (midnight, several replicas),
// none of them may be refused for want of a row another one is still creating.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, checkInvariants } from '../../src/budget';
import { openDatabase, type Database } from '../../src/db';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

const CLIENTS = 24;
const DAYS = 30;
let now = new Date('2026-01-01T12:00:00Z');

let database: TestDatabase;
let clients: { db: Database; ledger: Ledger }[];

beforeAll(async () => {
  database = await createTestDatabase({ max: 2 });
  clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const db = await openDatabase({ url: database.url, max: 1, migrate: false });
      return { db, ledger: new Ledger(db.db, { now: () => now, defaultDailyLimitMc: mc(1e12) }) };
    }),
  );
  await clients[0]!.ledger.ensureWorkspace('TOPEN');
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.db.close()));
  await database.drop();
});

describe('opening a period under concurrency', () => {
  it(`grants every one of ${CLIENTS} simultaneous first reservations, on each of ${DAYS} new days`, async () => {
    let refused = 0;
    for (let day = 0; day < DAYS; day++) {
      now = new Date(Date.UTC(2026, 0, 1 + day, 12));
      const results = await Promise.all(
        clients.map(({ ledger }, i) =>
          ledger.reserve({ teamId: 'TOPEN', channelId: `C${i % 3}`, userId: `U${i}`, amountMc: mc(1000) }),
        ),
      );
      refused += results.filter((r) => !r.ok).length;
    }
    expect(refused).toBe(0);
    expect(await checkInvariants(database.db)).toEqual([]);
  });
});
