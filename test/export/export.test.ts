import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, checkInvariants } from '../../src/budget';
import { insertRows, rows, schema, sql } from '../../src/db';
import { Exporter, type ExportGrouping, type ExportRequest } from '../../src/export';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

const TEAM = 'TEXP';
const PRICE = 0.14;
const NOW = new Date('2026-11-25T12:00:00Z');
/** People whose names a spreadsheet would run as formulas. */
const NAMES: Record<string, string> = {
  U1: '=HYPERLINK("http://evil","x")',
  U2: '+1+2',
  U3: '-3',
  U4: '@SUM(A1)',
  U5: '\n=1',
  U6: 'Grace',
};

let database: TestDatabase;
let exporter: Exporter;

beforeAll(async () => {
  database = await createTestDatabase({ max: 4 });
  exporter = new Exporter(database.db, {
    creditPriceUsd: PRICE,
    now: () => NOW,
    pageSize: 7, // several pages even for the small set
    names: async (ids) => new Map(ids.map((id) => [id, NAMES[id] ?? id])),
  });
  await seed();
});
afterAll(async () => {
  expect(await checkInvariants(database.db)).toEqual([]);
  await database.drop();
});

/**
 * Jobs through the real ledger in Europe/Berlin, around November's edges: committed at a cost other than the
 * estimate, released, and still held; several people, channels and models.
 */
async function seed() {
  const clock = { now: NOW };
  const ledger = new Ledger(database.db, {
    now: () => clock.now,
    defaultTimezone: 'Europe/Berlin',
    defaultDailyLimitMc: mc(10_000_000),
  });
  await ledger.ensureWorkspace(TEAM);
  const times = [
    '2026-10-31T22:30:00Z',
    '2026-10-31T23:30:00Z',
    '2026-11-03T08:00:00Z',
    '2026-11-20T17:45:12.345Z',
    '2026-11-25T11:00:00Z',
    '2026-11-30T23:30:00Z',
  ];
  const models = ['kling-v2-6', 'kling-v2-5-turbo', 'kling-v2-1'];
  let i = 0;
  for (const at of times) {
    for (let k = 0; k < 6; k++, i++) {
      clock.now = new Date(at);
      const userId = `U${(i % 6) + 1}`;
      const channelId = `C${(i % 3) + 1}`;
      const id = `kbb_job_${i}`;
      const estimate = 1_000 + i * 350 + (i % 4) * 25; // down to 0.025 credits
      const tag = [undefined, 'launch', 'brand'][i % 3];
      const request = { teamId: TEAM, channelId, userId, amountMc: mc(estimate), generationId: id, tag };
      const reserved = await ledger.reserve(request);
      if (!reserved.ok) throw new Error('refused');
      const holdId = reserved.holds[0]!.id;
      const outcome = i % 5;
      await insertRows(database.db, schema.generations, [
        {
          id,
          teamId: TEAM,
          channelId,
          userId,
          endpoint: 'text2video',
          requestKey: id,
          estimateMc: mc(estimate),
          holdId,
          request: {
            model_name: models[i % 3],
            mode: i % 2 ? 'pro' : 'std',
            duration: String(5 + (i % 2) * 5),
            sound: i % 4 ? 'off' : 'on',
            prompt: 'x',
          },
          state: outcome === 0 ? 'failed' : outcome === 1 ? 'processing' : 'succeeded',
          klingTaskId: `task-${i}`,
        },
      ]);
      if (outcome === 0) await ledger.release(holdId, 'failed');
      else if (outcome !== 1) await ledger.commit(holdId, mc(estimate - (i % 3) * 50));
    }
  }
}

/** The ledger's own figures, from its entries on the workspace budget (one per hold): estimate and charge per key. */
async function ledgerSums(
  span: { start: string; end: string },
  key: 'user_id' | 'channel_id' | 'tag' | null,
  userId?: string,
) {
  const result = await rows<{ key: string | null; estimate_mc: number; charged_mc: number; jobs: number }>(
    database.db,
    sql`
    select ${key ? sql.raw(`h.${key}`) : sql`null`} as key, count(distinct h.id)::int as jobs,
           sum(e.amount_mc) filter (where e.kind = 'reserve') as estimate_mc, sum(e.charged_delta_mc) as charged_mc
    from ledger_entries e join holds h on h.id = e.hold_id join budgets b on b.id = e.budget_id and b.scope = 'workspace'
    where h.team_id = ${TEAM} and h.created_at >= ${span.start}::timestamptz and h.created_at < ${span.end}::timestamptz
      ${userId ? sql`and h.user_id = ${userId}` : sql``}
    group by 1 order by 1 nulls first`,
  );
  return result.map((r) => ({
    key: r.key,
    jobs: r.jobs,
    estimateMc: Number(r.estimate_mc),
    chargedMc: Number(r.charged_mc),
  }));
}

/** A CSV parser for the test's reading (RFC 4180 quoting), independent of the writer. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') record.push(field), (field = '');
    else if (c === '\n') record.push(field), records.push(record), (record = []), (field = '');
    else field += c;
  }
  if (field || record.length) record.push(field), records.push(record);
  return records;
}

async function run(request: Partial<ExportRequest>) {
  const file = await exporter.export({ teamId: TEAM, period: { kind: 'month' }, by: 'job', format: 'csv', ...request });
  let text = '';
  for await (const chunk of file.stream) text += String(chunk);
  const [header, ...body] = parseCsv(text);
  const records = body.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
  return { file, text, header: header!, records, totals: await file.totals };
}

/** Exact millicredits from a decimal cell ("12.025"). */
const cellMc = (cell: string) => Math.round(Number(cell) * 1000);
/** Exact 1e-7 dollars from a decimal cell, as a bigint. */
const micro = (cell: string) => {
  const [whole, frac = ''] = cell.split('.');
  return BigInt(whole!) * 10_000_000n + BigInt(frac.padEnd(7, '0'));
};

const NOVEMBER = { start: '2026-10-31T23:00:00Z', end: '2026-11-30T23:00:00Z' }; // Berlin's November in UTC

describe('/kling export', () => {
  it("writes one row per job of the period in the workspace timezone, its sums equal to the ledger's", async () => {
    const { file, header, records, totals } = await run({});
    expect(file.fileName).toBe('kling-jobs-2026-11.csv');
    expect(header).toEqual([
      'job_id',
      'time',
      'person_id',
      'person_name',
      'channel_id',
      'tag',
      'model',
      'mode',
      'duration_s',
      'audio',
      'estimate_credits',
      'charged_credits',
      'charged_usd',
      'state',
      'kling_task_id',
    ]);
    const [ledger] = await ledgerSums(NOVEMBER, null);
    // 23:30 UTC on 31 October is 00:30 in Berlin: November; 22:30 is still October. 30 November 23:30 UTC is December.
    expect(records).toHaveLength(24);
    expect(records.map((r) => r.time)).not.toContain('2026-10-31T22:30:00Z');
    expect(records[0]!.time).toBe('2026-10-31T23:30:00Z');
    expect(records.find((r) => r.job_id === 'kbb_job_6')).toMatchObject({
      time: '2026-10-31T23:30:00Z',
      person_id: 'U1',
      channel_id: 'C1',
      tag: '',
      model: 'kling-v2-6',
      mode: 'std',
      duration_s: '5',
      audio: 'no',
      kling_task_id: 'task-6',
    });
    expect(records.find((r) => r.job_id === 'kbb_job_7')).toMatchObject({ tag: 'launch' });
    expect(ledger!.jobs).toBe(24);
    expect(records.reduce((s, r) => s + cellMc(r.estimate_credits!), 0)).toBe(ledger!.estimateMc);
    expect(records.reduce((s, r) => s + cellMc(r.charged_credits!), 0)).toBe(ledger!.chargedMc);
    expect(totals).toEqual({
      jobs: 24,
      estimateMc: ledger!.estimateMc,
      chargedMc: ledger!.chargedMc,
      chargedUsd: expect.any(String),
    });
    // Dollars are exact: the rows' sum is the total's value at the price, to the last digit.
    expect(records.reduce((s, r) => s + micro(r.charged_usd!), 0n)).toBe(micro(totals.chargedUsd));
    expect(micro(totals.chargedUsd)).toBe(BigInt(ledger!.chargedMc) * 1400n);
    // Released jobs charge nothing; running ones are charged what is held.
    expect(records.filter((r) => r.state === 'failed').every((r) => r.charged_credits === '0')).toBe(true);
    expect(records.filter((r) => r.state === 'processing').every((r) => r.charged_credits === r.estimate_credits)).toBe(
      true,
    );
  });

  it.each<ExportGrouping>(['person', 'channel', 'tag', 'model'])(
    "--by %s sums the jobs, and the sums equal the ledger's",
    async (by) => {
      const { records, totals, file } = await run({ by, period: { kind: 'calendar-month', year: 2026, month: 11 } });
      expect(file.fileName).toBe(`kling-by-${by}-2026-11.csv`);
      const [ledger] = await ledgerSums(NOVEMBER, null);
      expect(totals).toMatchObject({
        jobs: ledger!.jobs,
        estimateMc: ledger!.estimateMc,
        chargedMc: ledger!.chargedMc,
      });
      expect(records.reduce((s, r) => s + cellMc(r.charged_credits!), 0)).toBe(ledger!.chargedMc);
      expect(records.reduce((s, r) => s + Number(r.jobs), 0)).toBe(24);
      if (by === 'person' || by === 'channel' || by === 'tag') {
        const perKey = await ledgerSums(
          NOVEMBER,
          by === 'person' ? 'user_id' : by === 'channel' ? 'channel_id' : 'tag',
        );
        const column = by === 'person' ? 'person_id' : by === 'channel' ? 'channel_id' : 'tag';
        const sums = records.map((r) => ({
          key: r[column] || null,
          jobs: Number(r.jobs),
          estimateMc: cellMc(r.estimate_credits!),
          chargedMc: cellMc(r.charged_credits!),
        }));
        expect(sums).toEqual(perKey);
      }
      if (by === 'tag') expect(records.map((r) => r.tag)).toEqual(['', 'brand', 'launch']);
      if (by === 'model') expect(records.map((r) => r.model)).toEqual(['kling-v2-1', 'kling-v2-5-turbo', 'kling-v2-6']);
    },
  );

  it('gives a member only their own jobs, and any period: a day, days, last month', async () => {
    const mine = await run({ userId: 'U6' });
    const [ledger] = await ledgerSums(NOVEMBER, null, 'U6');
    expect(mine.file.fileName).toBe('kling-jobs-U6-2026-11.csv');
    expect(new Set(mine.records.map((r) => r.person_id))).toEqual(new Set(['U6']));
    expect(mine.totals).toMatchObject({ jobs: ledger!.jobs, chargedMc: ledger!.chargedMc });
    const october = await run({ period: { kind: 'last-month' } });
    expect(october.records.map((r) => r.time)).toEqual(Array(6).fill('2026-10-31T22:30:00Z'));
    const day = await run({
      period: { kind: 'days', from: { year: 2026, month: 11, day: 20 }, to: { year: 2026, month: 11, day: 20 } },
    });
    expect(day.file.label).toBe('2026-11-20');
    expect(day.records.map((r) => r.time)).toEqual(Array(6).fill('2026-11-20T17:45:12Z'));
    const from = { year: 2026, month: 11, day: 3 };
    const days = await run({ period: { kind: 'days', from, to: { year: 2026, month: 11, day: 20 } }, by: 'person' });
    expect(days.file.label).toBe('2026-11-03..2026-11-20');
    expect(days.totals.jobs).toBe(12);
  });

  it('neutralises every cell a spreadsheet would run as a formula', async () => {
    const { records, text } = await run({});
    const names = new Set(records.map((r) => r.person_name));
    expect(names).toEqual(new Set(['\'=HYPERLINK("http://evil","x")', "'+1+2", "'-3", "'@SUM(A1)", "'\n=1", 'Grace']));
    for (const cell of parseCsv(text).flat()) expect(cell).not.toMatch(/^[=+\-@\t\r\n]/);
    const people = await run({ by: 'person' });
    expect(people.records.map((r) => r.person_name)).toContain('\'=HYPERLINK("http://evil","x")');
  });

  it("--format focus writes FOCUS 1.2 columns whose costs add up to the ledger's", async () => {
    const { header, records, totals, file } = await run({ format: 'focus' });
    expect(file.fileName).toBe('kling-focus-2026-11.csv');
    expect(header.slice(0, 4)).toEqual(['BilledCost', 'EffectiveCost', 'ListCost', 'ContractedCost']);
    const named = ['ChargePeriodStart', 'ChargePeriodEnd', 'ServiceName', 'ResourceId', 'Tags', 'BillingCurrency'];
    expect(header).toEqual(expect.arrayContaining(named));
    const [ledger] = await ledgerSums(NOVEMBER, null);
    expect(records.reduce((s, r) => s + micro(r.BilledCost!), 0n)).toBe(BigInt(ledger!.chargedMc) * 1400n);
    expect(totals.chargedMc).toBe(ledger!.chargedMc);
    const first = records.find((r) => r.ResourceId === 'kbb_job_6')!;
    expect(first).toMatchObject({
      ResourceId: 'kbb_job_6',
      BillingCurrency: 'USD',
      BillingAccountId: TEAM,
      ChargeCategory: 'Usage',
      ServiceName: 'Kling AI',
      ChargePeriodStart: '2026-10-31T23:30:00Z',
      BillingPeriodStart: '2026-10-31T23:00:00Z',
      BillingPeriodEnd: '2026-11-30T23:00:00Z',
      PricingUnit: 'Credits',
      ListUnitPrice: '0.14',
      SkuId: 'kling-v2-6',
      ChargeClass: '',
    });
    expect(JSON.parse(first.Tags!)).toEqual({ slack_user: 'U1', slack_channel: 'C1' });
    for (const r of records) {
      expect(micro(r.ListCost!)).toBe(BigInt(cellMc(r.PricingQuantity!)) * 1400n); // ListUnitPrice x PricingQuantity
      expect(r.ChargePeriodEnd! > r.ChargePeriodStart!).toBe(true);
    }
  });
});

describe('a period of 100,000 jobs', () => {
  it('is written as a stream: the heap stays flat while the file grows', async () => {
    const team = 'TBIG';
    const jobs = 100_000;
    await database.db.execute(sql`
      insert into holds (id, team_id, user_id, channel_id, generation_id, amount_mc, status, actual_mc, created_at, settled_at)
      select gen_random_uuid(), ${team}, 'U' || (i % 50), 'C' || (i % 7), 'kbb_big_' || i, 1000 + i % 500, 'committed',
             1000 + i % 450, timestamptz '2026-11-01T00:00:00Z' + i * interval '20 seconds',
             timestamptz '2026-11-01T00:01:00Z' + i * interval '20 seconds'
      from generate_series(1, ${jobs}) i`);
    await database.db.execute(sql`
      insert into generations (id, team_id, channel_id, user_id, endpoint, request, request_key, estimate_mc, hold_id,
                               state, kling_task_id, actual_mc, created_at)
      select generation_id, team_id, channel_id, user_id, 'text2video',
             jsonb_build_object('model_name', 'kling-v2-6', 'mode', 'pro', 'duration', '10', 'prompt', 'a fox'), generation_id,
             amount_mc, id, 'succeeded', 'task-' || generation_id, actual_mc, created_at
      from holds where team_id = ${team}`);
    const [expected] = await rows<{ charged: number }>(
      database.db,
      sql`
      select sum(actual_mc)::bigint as charged from holds where team_id = ${team}`,
    );

    const names = async (ids: string[]) => new Map(ids.map((id) => [id, `Person ${id}`]));
    const big = new Exporter(database.db, { creditPriceUsd: PRICE, now: () => NOW, names });
    // What the heap retains (measured after a full collection) is what the export holds on to; garbage that the
    // collector has not taken yet says nothing about it.
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const live = () => (gc(), process.memoryUsage().heapUsed);
    const before = live();
    let peak = before;
    let bytes = 0;
    let lines = 0;
    let chunks = 0;
    const file = await big.export({ teamId: team, period: { kind: 'month' }, by: 'job', format: 'csv' });
    for await (const chunk of file.stream) {
      const text = String(chunk);
      bytes += Buffer.byteLength(text);
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
      if (++chunks % 5_000 === 0) peak = Math.max(peak, live());
    }
    const totals = await file.totals;
    expect(lines).toBe(jobs + 1);
    expect(totals).toMatchObject({ jobs, chargedMc: Number(expected!.charged) });
    const growth = peak - before;
    const mb = (n: number) => (n / 1e6).toFixed(1);
    console.log(
      `100,000-job export: ${mb(bytes)} MB of CSV in ${chunks} chunks; live heap ${mb(before)} MB before, ` +
        `at most +${mb(growth)} MB while streaming`,
    );
    // Held whole, the rows (or the file as a string) would keep at least the file's size live: the export keeps
    // about a page of rows (a few MB) whatever the period's size.
    expect(growth).toBeLessThan(bytes / 2);
  }, 600_000); // inserting 100,000 jobs takes a while on a loaded machine; the bound is on memory, not time
});
