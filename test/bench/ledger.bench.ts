// One hot budget, 16 concurrent clients: reservations+commits per second and latency, beside a bare SQL
// loop (one autocommit `UPDATE … SET used = used + n WHERE used + n <= limit` per op) on the same database
// in the same run. Then a race to the last credit to show nothing is overspent.
import { openDatabase, rows, sql, type Database } from '../../src/db';
import { Ledger, checkInvariants } from '../../src/budget';
import { createTestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

const CLIENTS = 16;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2.5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const AMOUNT = mc(1_000);
const TEAM = 'TBENCH';

interface Figures {
  ops: number;
  seconds: number;
  latencies: number[];
}

/** Runs `op` in CLIENTS loops for `seconds`; returns completed ops and each op's latency (ms). */
async function drive(seconds: number, op: (client: number, i: number) => Promise<void>): Promise<Figures> {
  const latencies: number[] = [];
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = 0; performance.now() < until; i++) {
        const t = performance.now();
        await op(client, i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { ops: latencies.length, seconds: (performance.now() - started) / 1000, latencies };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function summary(f: Figures): { perSecond: number; p50: number; p99: number } {
  const sorted = [...f.latencies].sort((a, b) => a - b);
  return { perSecond: f.ops / f.seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

function line(name: string, s: { perSecond: number; p50: number; p99: number }): string {
  return `${name.padEnd(34)} ${s.perSecond.toFixed(0).padStart(7)} ops/s   p50 ${s.p50.toFixed(2).padStart(6)} ms   p99 ${s.p99.toFixed(2).padStart(6)} ms`;
}

export default async function ledgerBench(): Promise<void> {
  const test = await createTestDatabase({ max: 2 });
  let pool: Database | undefined;
  try {
    pool = await openDatabase({ url: test.url, max: CLIENTS, migrate: false });
    const db = pool.db;
    const ledger = new Ledger(db, { defaultDailyLimitMc: mc(1e15) });
    await ledger.ensureWorkspace(TEAM);
    await db.execute(sql`create table bench_counter (id int primary key, used bigint not null, lim bigint not null)`);
    await db.execute(sql`insert into bench_counter values (1, 0, ${1e15})`);
    const request = (client: number) => ({
      teamId: TEAM,
      channelId: `C${client % 4}`,
      userId: `U${client}`,
      amountMc: AMOUNT,
    });

    const bare = () =>
      db
        .execute(sql`update bench_counter set used = used + ${AMOUNT} where id = 1 and used + ${AMOUNT} <= lim`)
        .then(() => undefined);
    const reserveOnly = async (client: number) => {
      if (!(await ledger.reserve(request(client))).ok) throw new Error('the bench budget refused a reservation');
    };
    const reserveAndCommit = async (client: number) => {
      const result = await ledger.reserve(request(client));
      if (!result.ok) throw new Error('the bench budget refused a reservation');
      await ledger.commit(result.holds[0]!.id, AMOUNT);
    };

    // Warm both paths (plans cached on every connection), then alternate so drift hits both alike.
    await drive(1, bare);
    await drive(1, reserveAndCommit);
    const bareRuns: Figures[] = [];
    const ledgerRuns: Figures[] = [];
    const reserveRuns: Figures[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      bareRuns.push(await drive(SECONDS, bare));
      ledgerRuns.push(await drive(SECONDS, reserveAndCommit));
      reserveRuns.push(await drive(SECONDS, reserveOnly));
    }
    const merge = (runs: Figures[]): Figures => ({
      ops: runs.reduce((s, r) => s + r.ops, 0),
      seconds: runs.reduce((s, r) => s + r.seconds, 0),
      latencies: runs.flatMap((r) => r.latencies),
    });
    const bareSummary = summary(merge(bareRuns));
    const ledgerSummary = summary(merge(ledgerRuns));
    console.log(
      `one hot budget, ${CLIENTS} concurrent clients, ${ROUNDS} × ${SECONDS} s each, Postgres with fsync + synchronous_commit`,
    );
    console.log(line('bare SQL loop (1 UPDATE per op)', bareSummary));
    console.log(line('ledger reserve + commit', ledgerSummary));
    console.log(line('(ledger reserve alone)', summary(merge(reserveRuns))));
    const perRound = ledgerRuns.map((run, i) => (summary(run).perSecond / summary(bareRuns[i]!).perSecond).toFixed(2));
    console.log(
      `ratio ledger / bare: ${(ledgerSummary.perSecond / bareSummary.perSecond).toFixed(2)} (rounds: ${perRound.join(', ')})`,
    );

    // Race for the last credits: exactly LIMIT / AMOUNT reservations may succeed, the rest are refused.
    const fits = 500;
    const tight = await ledger.setBudget({
      teamId: TEAM,
      scope: 'channel',
      scopeId: 'CTIGHT',
      period: 'day',
      limitMc: mc(fits * AMOUNT),
      by: 'bench',
    });
    let granted = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        for (let i = 0; i < Math.ceil((fits * 1.5) / CLIENTS); i++) {
          const result = await ledger.reserve({ ...request(client), channelId: 'CTIGHT' });
          if (!result.ok) refused++;
          else {
            granted++;
            if (i % 2) await ledger.commit(result.holds[0]!.id, AMOUNT);
          }
        }
      }),
    );
    const usage = await ledger.usage(tight.id);
    const [counter] = await rows<{ used: number; lim: number }>(db, sql`select used, lim from bench_counter`);
    const problems = await checkInvariants(db);
    console.log(
      `race to the limit: ${granted} granted (${fits} fit), ${refused} refused, charged ${usage.chargedMc} of ${usage.limitMc} mc → overspend ${Math.max(0, usage.chargedMc - usage.limitMc)} mc;` +
        ` bare counter within its limit: ${counter!.used <= counter!.lim}; ledger invariants: ${problems.length ? problems.join('; ') : 'all hold'}`,
    );
  } finally {
    await pool?.close();
    await test.drop();
  }
}
