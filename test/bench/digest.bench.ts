// Digest build time over ~1,000,000 ledger entries (30 days, 1,000 people), beside a bare indexed aggregate
// over the same day in the same run. The data is made in SQL with generate_series, shaped as the ledger and the
// queue leave it: each job holds against the workspace budget and its person's budget, then commits or releases.
import { performance } from 'node:perf_hooks';
import { rows, sql } from '../../src/db/index';
import { Ledger } from '../../src/budget/index';
import { builtInCatalog } from '../../src/pricing/index';
import {
  DigestService,
  DigestStore,
  dayOf,
  daysEndingWith,
  renderTrendChart,
  type DigestPoster,
} from '../../src/digest/index';
import { digestMessage } from '../../src/slack/blocks/digest';
import { createTestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

const TZ = 'Europe/Berlin';
const TEAM = 'TBENCH';
const JOBS = 254_000;
const USERS = 1_000;
const DAYS = 30;
const START = new Date('2026-10-25T23:00:00Z'); // local midnight, Monday 26 Oct 2026 (after the DST change)
const RUNS = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

export default async function digestBench(): Promise<void> {
  const database = await createTestDatabase({ max: 4 });
  try {
    const db = database.db;
    const now = new Date(START.getTime() + DAYS * 86_400_000 + 9 * 3_600_000);
    const ledger = new Ledger(db, { now: () => now, defaultTimezone: TZ, defaultDailyLimitMc: mc(50_000_000) });
    await ledger.ensureWorkspace(TEAM);
    const wsBudget = (await ledger.budgets(TEAM))[0]!.id;
    const t0 = performance.now();
    // Bulk load the usual way: secondary indexes dropped first and built once the rows are in (same end state).
    const indexes = await rows<{ indexname: string; indexdef: string }>(
      db,
      sql`
      select indexname, indexdef from pg_indexes
      where schemaname = 'public' and tablename in ('holds', 'generations', 'ledger_entries') and indexdef not like 'CREATE UNIQUE%'`,
    );
    for (const index of indexes) await rows(db, sql.raw(`drop index ${index.indexname}`));
    await rows(
      db,
      sql`
      insert into budgets (team_id, scope, scope_id, period, limit_mc)
      select ${TEAM}, 'user', 'U' || lpad(u::text, 4, '0'), 'day', 100000 from generate_series(0, ${USERS - 1}) u`,
    );
    // Jobs spread evenly over 30 days; 91% succeed, 4% fail, 2% are cancelled, 3% are still open.
    await rows(
      db,
      sql`
      create temporary table bench_jobs as
      select j.*, b.id as user_budget_id, budget_period_start('day', j.created_at, ${TZ}) as period_start
      from (
        select i, gen_random_uuid() as hold_id, 'g' || i as generation_id, 'U' || lpad((i * 7919 % ${USERS})::text, 4, '0') as user_id,
               ${START.toISOString()}::timestamptz + (i::float8 / ${JOBS}) * ${DAYS} * interval '1 day' as created_at,
               (array['kling-v2-5-turbo', 'kling-v2-6', 'kling-v2-6', 'kling-v3', 'kling-v2-5-turbo'])[1 + i % 5] as model,
               (array['std', 'pro'])[1 + (i / 5) % 2] as mode, (array['5', '10'])[1 + (i / 10) % 2] as duration,
               case when i % 100 < 91 then 'succeeded' when i % 100 < 95 then 'failed' when i % 100 < 97 then 'cancelled' else 'open' end as outcome,
               (1500 + (i % 7) * 500)::bigint as amount_mc
        from generate_series(1, ${JOBS}) i
      ) j join budgets b on b.team_id = ${TEAM} and b.scope = 'user' and b.scope_id = j.user_id`,
    );
    await rows(
      db,
      sql`
      insert into holds (id, team_id, user_id, channel_id, generation_id, amount_mc, status, actual_mc, created_at, settled_at)
      select hold_id, ${TEAM}, user_id, 'C' || (i % 20), generation_id, amount_mc,
             (case outcome when 'succeeded' then 'committed' when 'open' then 'open' else 'released' end)::hold_status,
             case when outcome = 'succeeded' then amount_mc end, created_at,
             case when outcome <> 'open' then created_at + interval '2 minutes' end
      from bench_jobs`,
    );
    await rows(
      db,
      sql`
      insert into generations (id, team_id, channel_id, user_id, endpoint, request, request_key, estimate_mc, hold_id, state, actual_mc, created_at, ended_at)
      select generation_id, ${TEAM}, 'C' || (i % 20), user_id, 'text2video',
             jsonb_build_object('prompt', 'prompt ' || (i % 40000), 'model_name', model, 'mode', mode, 'duration', duration, 'sound', 'off'),
             md5(model || mode || duration || (i % 40000)), amount_mc, hold_id,
             (case outcome when 'open' then 'processing' else outcome end)::generation_state,
             case when outcome = 'succeeded' then amount_mc end, created_at,
             case when outcome <> 'open' then created_at + (60 + i % 240) * interval '1 second' end
      from bench_jobs`,
    );
    // Each job touches two budgets (the workspace's and its person's): a reserve entry and, once settled, a commit or release.
    await rows(
      db,
      sql`
      insert into ledger_entries (team_id, budget_id, period_start, hold_id, kind, amount_mc, charged_delta_mc, actor, created_at)
      select ${TEAM}, bud.id, j.period_start, j.hold_id, k.kind::ledger_entry_kind,
             j.amount_mc, case k.kind when 'reserve' then j.amount_mc when 'release' then -j.amount_mc else 0 end, j.user_id,
             j.created_at + case k.kind when 'reserve' then interval '0' else interval '2 minutes' end
      from bench_jobs j
      cross join lateral (values (${wsBudget}::bigint), (j.user_budget_id)) bud(id)
      cross join lateral (values ('reserve'), (case j.outcome when 'succeeded' then 'commit' when 'open' then null else 'release' end)) k(kind)
      where k.kind is not null`,
    );
    await rows(
      db,
      sql`
      insert into budget_periods (budget_id, period_start, period_end, limit_mc, hard, charged_mc)
      select e.budget_id, e.period_start, e.period_start + interval '1 day', b.limit_mc, b.hard, sum(e.charged_delta_mc)
      from ledger_entries e join budgets b on b.id = e.budget_id group by e.budget_id, e.period_start, b.limit_mc, b.hard`,
    );
    for (const index of indexes) await rows(db, sql.raw(index.indexdef));
    // Autovacuum would have run on a live database: visibility maps let the duplicate check read the index only.
    await rows(db, sql`vacuum analyze`);
    const loadSeconds = (performance.now() - t0) / 1000;
    const [counts] = await rows<{ entries: number; holds: number; generations: number }>(
      db,
      sql`
      select (select count(*) from ledger_entries) as entries, (select count(*) from holds) as holds, (select count(*) from generations) as generations`,
    );

    const day = dayOf(new Date(START.getTime() + 20 * 86_400_000 + 12 * 3_600_000), TZ);
    const poster: DigestPoster = { post: async () => {} };
    const digest = new DigestService(db, ledger, poster, {
      cron: '0 9 * * *',
      creditPriceUsd: 0.14,
      now: () => now,
      catalog: builtInCatalog,
    });
    const store = new DigestStore(db);

    const bare = await time(() =>
      rows(
        db,
        sql`
      select sum(actual_mc) from holds where team_id = ${TEAM} and created_at >= ${day.start.toISOString()}::timestamptz and created_at < ${day.end.toISOString()}::timestamptz`,
      ),
    );
    const build = await time(async () => digestMessage(await digest.preview(TEAM, day.date)));
    let trend: Awaited<ReturnType<DigestStore['ledger']['trend']>> = [];
    const figures = await time(async () => {
      trend = (
        await store.figures(
          TEAM,
          day,
          { day: day.start, week: day.start, month: day.start },
          daysEndingWith(day, TZ, 7),
        )
      ).trend;
    });
    const chart = await time(async () => renderTrendChart(trend, mc(50_000_000)));
    const totals = await store.ledger.totals(TEAM, day);

    console.log(
      `data: ${counts!.entries.toLocaleString('en-US')} ledger entries, ${counts!.holds.toLocaleString('en-US')} holds, ${counts!.generations.toLocaleString('en-US')} generations, ${USERS} people, ${DAYS} days; loaded in ${loadSeconds.toFixed(1)} s`,
    );
    console.log(`day ${day.date}: ${totals.committedCount.toLocaleString('en-US')} committed jobs`);
    console.log(`bare indexed aggregate (sum of one day's holds): ${bare.toFixed(2)} ms (median of ${RUNS})`);
    console.log(`digest figures (all SQL aggregates):              ${figures.toFixed(2)} ms`);
    console.log(
      `digest build (figures + savings + Block Kit):     ${build.toFixed(2)} ms  = ${(build / bare).toFixed(1)}× the bare aggregate`,
    );
    console.log(`chart PNG render (resvg):                         ${chart.toFixed(2)} ms`);
  } finally {
    await database.drop();
  }
}
