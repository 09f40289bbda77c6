-- Custom SQL migration file, put your code below! ---- The ledger's write paths, each ONE statement (src/budget/README.md): one round trip per reserve, commit or release.
-- A reservation locks its budget_periods rows in its last statements, so a hot budget's row is held for
-- little more than the commit.
-- Statements are separated by drizzle's breakpoint marker because the migrators run one statement at a time.

-- Periods start at midnight on the workspace's wall clock; truncating local time (not UTC) keeps a day
-- 23 or 25 hours long across a DST change. date_trunc('week') starts on Monday.
-- A timezone an admin changed takes over once its time has come (the next period boundary): the first write
-- after it promotes it, so every period from then on starts at midnight in the new zone.
CREATE OR REPLACE FUNCTION workspace_timezone(p_team text, p_now timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_tz text;
BEGIN
  UPDATE workspaces SET timezone = pending_timezone, pending_timezone = NULL, timezone_effective_at = NULL
  WHERE team_id = p_team AND pending_timezone IS NOT NULL AND timezone_effective_at <= p_now;
  SELECT timezone INTO v_tz FROM workspaces WHERE team_id = p_team;
  RETURN v_tz;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION budget_period_start(p_kind budget_period, p_at timestamptz, p_tz text)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT date_trunc(p_kind::text, p_at AT TIME ZONE p_tz) AT TIME ZONE p_tz
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION budget_period_end(p_kind budget_period, p_at timestamptz, p_tz text)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT (date_trunc(p_kind::text, p_at AT TIME ZONE p_tz) + ('1 ' || p_kind::text)::interval) AT TIME ZONE p_tz
$$;
--> statement-breakpoint
-- Claims every threshold the period's charge has reached; the primary key makes each claim happen once
-- per (budget, period, threshold). Returns the alerts claimed now.
CREATE OR REPLACE FUNCTION budget_claim_thresholds(
  p_team text, p_budget bigint, p_period_start timestamptz, p_thresholds integer[],
  p_charged bigint, p_limit bigint, p_by text
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_events jsonb := '[]'::jsonb;
  v_threshold integer;
BEGIN
  FOREACH v_threshold IN ARRAY p_thresholds LOOP
    CONTINUE WHEN p_charged * 100 < v_threshold::bigint * p_limit OR p_charged = 0;
    INSERT INTO budget_alerts (budget_id, period_start, kind, threshold, team_id, triggered_by, charged_mc, limit_mc)
    VALUES (p_budget, p_period_start, 'threshold', v_threshold, p_team, p_by, p_charged, p_limit)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
      v_events := v_events || jsonb_build_object('kind', 'threshold', 'budgetId', p_budget, 'periodStart', p_period_start,
        'threshold', v_threshold, 'chargedMc', p_charged, 'limitMc', p_limit, 'triggeredBy', p_by);
    END IF;
  END LOOP;
  RETURN v_events;
END
$$;
--> statement-breakpoint
-- Kling charged more than a hold and the hard budget's period went over its limit: claimed once per (budget,
-- period), naming every job of the period charged above its hold so far. Returns the alert claimed now, if any.
CREATE OR REPLACE FUNCTION budget_claim_overrun(
  p_team text, p_budget bigint, p_period_start timestamptz, p_charged bigint, p_limit bigint, p_by text
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_jobs text[];
BEGIN
  SELECT coalesce(array_agg(h.generation_id ORDER BY e.id), '{}') INTO v_jobs
  FROM ledger_entries e JOIN holds h ON h.id = e.hold_id
  WHERE e.budget_id = p_budget AND e.period_start = p_period_start AND e.kind = 'commit'
    AND e.charged_delta_mc > 0 AND h.generation_id IS NOT NULL;
  INSERT INTO budget_alerts (budget_id, period_start, kind, threshold, team_id, triggered_by, charged_mc, limit_mc,
                             generation_ids)
  VALUES (p_budget, p_period_start, 'overrun', 0, p_team, p_by, p_charged, p_limit, v_jobs)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN '[]'::jsonb;
  END IF;
  RETURN jsonb_build_array(jsonb_build_object('kind', 'overrun', 'budgetId', p_budget, 'periodStart', p_period_start,
    'chargedMc', p_charged, 'limitMc', p_limit, 'triggeredBy', p_by, 'generationIds', to_jsonb(v_jobs)));
END
$$;
--> statement-breakpoint
-- What the temporary raises active at p_at add to the budget's limit, in whichever period p_at falls
-- (src/budget/README.md: raises). Inlined by the planner into the queries that call it.
CREATE OR REPLACE FUNCTION budget_raised(p_budget bigint, p_at timestamptz)
RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(amount_mc), 0)::bigint FROM budget_raises
  WHERE budget_id = p_budget AND starts_at <= p_at AND ends_at > p_at
$$;
--> statement-breakpoint
-- What the raises that overlapped a period add to it: the most any reservation of the period can have been granted
-- beyond the limit. A settle measures an overrun against it (a raise given after a hold was taken still let the
-- holds after it in), and checkInvariants bounds the period's charge by it.
CREATE OR REPLACE FUNCTION budget_raised_in(p_budget bigint, p_start timestamptz, p_end timestamptz)
RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(amount_mc), 0)::bigint FROM budget_raises
  WHERE budget_id = p_budget AND starts_at < p_end AND ends_at > p_start
$$;
--> statement-breakpoint
-- The budgets a reservation touched, as the Ledger reports them: the budget, its period, what the
-- reservation needed from it and how the period stands now.
CREATE OR REPLACE FUNCTION ledger_budgets_json(p_ids bigint[], p_starts timestamptz[], p_needs bigint[], p_now timestamptz, p_tz text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'id', b.id, 'scope', b.scope, 'scopeId', b.scope_id, 'period', b.period, 'limitMc', b.limit_mc, 'hard', b.hard,
           'thresholds', b.thresholds, 'periodStart', x.start, 'periodEnd', budget_period_end(b.period, p_now, p_tz),
           'needMc', x.need, 'chargedMc', coalesce(p.charged_mc, 0), 'periodLimitMc', coalesce(p.limit_mc + p.allowance_mc, b.limit_mc) + budget_raised(b.id, p_now),
           'periodHard', coalesce(p.hard, b.hard)) ORDER BY b.id), '[]')
  FROM unnest(p_ids, p_starts, p_needs) AS x(id, start, need)
  JOIN budgets b ON b.id = x.id
  LEFT JOIN budget_periods p ON p.budget_id = x.id AND p.period_start = x.start
$$;
--> statement-breakpoint
-- Reserves a batch of requests (all in one team) against every budget that applies to each, all or nothing.
-- p_requests: [{channelId, userId, amountMc, tag?, generationId?, memo?}]. Returns
-- {ok: true, holds: [{id, amountMc, generationId}], events, budgets} or {ok: false, refusedBudgetId, budgets, events};
-- budgets (see ledger_budgets_json) is left out of a grant that raised no event.
CREATE OR REPLACE FUNCTION ledger_reserve(p_team text, p_requests jsonb, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_tz text;
  v_by text := p_requests->0->>'userId';
  -- the requests: element i of each array is request i
  v_holds uuid[];
  v_channels text[];
  v_users text[];
  v_tags text[];
  v_amounts bigint[];
  v_generations text[];
  v_memos text[];
  -- the budgets that apply, in lock order: element i of each array is budget i
  v_ids bigint[];
  v_scopes budget_scope[];
  v_scope_ids text[];
  v_starts timestamptz[];
  v_needs bigint[];
  v_lowest integer[];   -- each budget's lowest threshold: below it there is nothing to claim
  v_raised bigint[];    -- what each budget's raises active now add to its limit
  v_charged bigint;
  v_limit bigint;
  v_refused bigint;
  v_granted jsonb;
  v_events jsonb := '[]';
BEGIN
  -- Shared with every other reservation of the team, exclusive for a budget being created (ledger_open_budget):
  -- a new budget then counts every hold, none of which is still in flight (sql/12_budget_opening.sql).
  PERFORM pg_advisory_xact_lock_shared(1701, hashtext(p_team));
  v_tz := workspace_timezone(p_team, p_now);
  IF v_tz IS NULL THEN
    RAISE EXCEPTION 'unknown workspace %', p_team USING ERRCODE = 'no_data_found';
  END IF;
  -- One aggregate pass keeps the arrays aligned.
  SELECT array_agg(gen_random_uuid()), array_agg(r."channelId"), array_agg(r."userId"), array_agg(r.tag),
         array_agg(r."amountMc"), array_agg(r."generationId"), array_agg(r.memo)
  INTO v_holds, v_channels, v_users, v_tags, v_amounts, v_generations, v_memos
  FROM jsonb_to_recordset(p_requests)
    AS r("channelId" text, "userId" text, tag text, "amountMc" bigint, "generationId" text, memo text);

  -- Every budget that applies to at least one request, its current period and the batch's total on it,
  -- ordered by budget id: rows are locked in that order, so two reservations never deadlock.
  SELECT array_agg(b.id ORDER BY b.id), array_agg(b.scope ORDER BY b.id), array_agg(b.scope_id ORDER BY b.id),
         array_agg(budget_period_start(b.period, p_now, v_tz) ORDER BY b.id), array_agg(n.need ORDER BY b.id),
         array_agg(coalesce((SELECT min(t) FROM unnest(b.thresholds) t), 0) ORDER BY b.id),
         array_agg(budget_raised(b.id, p_now) ORDER BY b.id)
  INTO v_ids, v_scopes, v_scope_ids, v_starts, v_needs, v_lowest, v_raised
  FROM budgets b
  CROSS JOIN LATERAL (
    SELECT sum(a) AS need FROM unnest(v_amounts, v_channels, v_users, v_tags) AS r(a, c, u, t)
    WHERE b.scope = 'workspace' OR (b.scope = 'channel' AND c = b.scope_id) OR (b.scope = 'user' AND u = b.scope_id)
      OR (b.scope = 'tag' AND t = b.scope_id)
  ) n
  WHERE b.team_id = p_team AND ((b.scope = 'workspace' AND b.scope_id = p_team)
    OR (b.scope = 'channel' AND b.scope_id = ANY(v_channels)) OR (b.scope = 'user' AND b.scope_id = ANY(v_users))
    OR (b.scope = 'tag' AND b.scope_id = ANY(v_tags)));

  -- Everything that does not depend on the outcome is done before the period rows are locked.
  SELECT jsonb_agg(jsonb_build_object('id', h, 'amountMc', a, 'generationId', g)) INTO v_granted
  FROM unnest(v_holds, v_amounts, v_generations) AS r(h, a, g);

  BEGIN
    -- The hold and its entries first: the period rows, which may be hot, are locked last and only until commit.
    INSERT INTO holds (id, team_id, user_id, channel_id, tag, generation_id, amount_mc, created_at)
    SELECT h, p_team, u, c, t, g, a, p_now
    FROM unnest(v_holds, v_users, v_channels, v_tags, v_generations, v_amounts) AS r(h, u, c, t, g, a);
    INSERT INTO ledger_entries (team_id, budget_id, period_start, hold_id, kind, amount_mc, charged_delta_mc, actor, memo, created_at)
    SELECT p_team, b.id, b.start, r.h, 'reserve', r.a, r.a, r.u, r.m, p_now
    FROM unnest(v_holds, v_channels, v_users, v_tags, v_amounts, v_memos) AS r(h, c, u, t, a, m)
    JOIN unnest(v_ids, v_scopes, v_scope_ids, v_starts) AS b(id, scope, scope_id, start)
      ON b.scope = 'workspace' OR (b.scope = 'channel' AND b.scope_id = r.c) OR (b.scope = 'user' AND b.scope_id = r.u)
        OR (b.scope = 'tag' AND b.scope_id = r.t);

    -- Check and charge each period row in one UPDATE; a hard row that cannot fit the batch refuses it all.
    FOR i IN 1 .. coalesce(array_length(v_ids, 1), 0) LOOP
      FOR attempt IN 1 .. 2 LOOP
        UPDATE budget_periods SET charged_mc = charged_mc + v_needs[i]
        WHERE budget_id = v_ids[i] AND period_start = v_starts[i]
          AND (NOT hard OR charged_mc + v_needs[i] <= limit_mc + allowance_mc + v_raised[i])
        RETURNING charged_mc, limit_mc + allowance_mc + v_raised[i] INTO v_charged, v_limit;
        EXIT WHEN FOUND OR attempt = 2;
        -- No room, or no row yet: the period's first reservation opens it with the budget's current limit (or
        -- waits for whoever is opening it concurrently), then tries again. The second UPDATE reads a fresh
        -- snapshot, so a row another reservation was still creating is seen there; only then is it a refusal.
        INSERT INTO budget_periods (budget_id, period_start, period_end, limit_mc, hard)
        SELECT id, v_starts[i], budget_period_end(period, p_now, v_tz), limit_mc, hard FROM budgets WHERE id = v_ids[i]
        FOR SHARE   -- an admin's limit change waits for this period to exist, then changes it (store.upsertBudget)
        ON CONFLICT DO NOTHING;
      END LOOP;
      IF v_charged IS NULL THEN
        v_refused := v_ids[i];
        RAISE EXCEPTION USING ERRCODE = 'LR001';   -- undoes this block: holds, entries, charges, claims
      END IF;
      IF v_charged * 100 >= v_lowest[i]::bigint * v_limit THEN
        v_events := v_events || budget_claim_thresholds(p_team, v_ids[i], v_starts[i],
          (SELECT thresholds FROM budgets WHERE id = v_ids[i]), v_charged, v_limit, v_by);
      END IF;
      v_charged := NULL;
    END LOOP;
  EXCEPTION WHEN SQLSTATE 'LR001' THEN
    -- Report every budget as it stands, and claim 'exhausted' for each hard one the batch cannot fit, with what
    -- the refused batch needed from it: the alert tells a refusal with room left from a budget used up.
    WITH touched AS (
      SELECT b FROM jsonb_array_elements(ledger_budgets_json(v_ids, v_starts, v_needs, p_now, v_tz)) AS b
    ), claimed AS (
      INSERT INTO budget_alerts (budget_id, period_start, kind, threshold, team_id, triggered_by, charged_mc, limit_mc,
                                 detail)
      SELECT (b->>'id')::bigint, (b->>'periodStart')::timestamptz, 'exhausted', 0, p_team, v_by,
             (b->>'chargedMc')::bigint, (b->>'periodLimitMc')::bigint, jsonb_build_object('needMc', b->'needMc')
      FROM touched
      WHERE (b->>'id')::bigint = v_refused
         OR ((b->>'periodHard')::boolean AND (b->>'chargedMc')::bigint + (b->>'needMc')::bigint > (b->>'periodLimitMc')::bigint)
      ON CONFLICT DO NOTHING
      RETURNING *
    )
    SELECT jsonb_build_object('ok', false, 'refusedBudgetId', v_refused,
             'budgets', (SELECT jsonb_agg(b) FROM touched),
             'events', (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', 'exhausted', 'budgetId', budget_id,
                          'periodStart', period_start, 'chargedMc', charged_mc, 'limitMc', limit_mc, 'triggeredBy', triggered_by, 'detail', detail)), '[]')
                        FROM claimed))
    INTO v_events;
    RETURN v_events;
  END;

  RETURN jsonb_build_object('ok', true, 'events', v_events, 'holds', v_granted,
    'budgets', CASE WHEN v_events = '[]' THEN '[]' ELSE ledger_budgets_json(v_ids, v_starts, v_needs, p_now, v_tz) END);
END
$$;
--> statement-breakpoint
-- Reserves several independent batches of one team, in order, each exactly as ledger_reserve (all or nothing,
-- its own result): a group of reservations in one round trip. p_batches: [[request, ...], ...]; returns the
-- results as a jsonb array in the same order.
CREATE OR REPLACE FUNCTION ledger_reserve_each(p_team text, p_batches jsonb, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_results jsonb[] := '{}';
  v_batch jsonb;
BEGIN
  FOR v_batch IN SELECT value FROM jsonb_array_elements(p_batches) WITH ORDINALITY ORDER BY ordinality LOOP
    v_results := array_append(v_results, ledger_reserve(p_team, v_batch, p_now));
  END LOOP;
  RETURN to_jsonb(v_results);
END
$$;
--> statement-breakpoint
-- Settles a hold on the periods it was taken in (even if the period has since closed). Commit charges the
-- actual cost; release gives the hold back. Idempotent: a hold already settled the same way is a no-op.
-- A commit whose actual equals the estimate leaves budget_periods untouched (the hot row stays unlocked).
CREATE OR REPLACE FUNCTION ledger_settle(p_hold uuid, p_status hold_status, p_actual bigint, p_reason text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_hold holds%ROWTYPE;
  v_status hold_status;
  v_delta bigint;
  v_entry record;
  v_charged bigint;
  v_limit bigint;
  v_hard boolean;
  v_events jsonb := '[]'::jsonb;
BEGIN
  UPDATE holds SET status = p_status, actual_mc = p_actual, reason = p_reason, settled_at = p_now
  WHERE id = p_hold AND status = 'open'
  RETURNING * INTO v_hold;
  IF NOT FOUND THEN
    SELECT status INTO v_status FROM holds WHERE id = p_hold;
    IF v_status IS NULL THEN
      RAISE EXCEPTION 'unknown hold %', p_hold USING ERRCODE = 'no_data_found';
    ELSIF v_status = p_status OR p_status = 'released' THEN
      -- Already settled: committing twice, releasing twice, or releasing what was committed changes nothing.
      RETURN jsonb_build_object('events', v_events, 'settled', false, 'status', v_status);
    ELSE
      RAISE EXCEPTION 'hold % was released and cannot be committed', p_hold USING ERRCODE = 'invalid_transaction_state';
    END IF;
  END IF;

  v_delta := coalesce(p_actual, 0) - v_hold.amount_mc;
  FOR v_entry IN
    SELECT e.budget_id, e.period_start FROM ledger_entries e
    WHERE e.hold_id = p_hold AND e.kind = 'reserve'
    ORDER BY e.budget_id, e.period_start
  LOOP
    IF v_delta <> 0 THEN
      UPDATE budget_periods SET charged_mc = charged_mc + v_delta
      WHERE budget_id = v_entry.budget_id AND period_start = v_entry.period_start
      RETURNING charged_mc, limit_mc + allowance_mc + budget_raised_in(budget_id, period_start, period_end), hard
      INTO v_charged, v_limit, v_hard;
      IF v_delta > 0 THEN
        v_events := v_events || budget_claim_thresholds(v_hold.team_id, v_entry.budget_id, v_entry.period_start,
          (SELECT thresholds FROM budgets WHERE id = v_entry.budget_id), v_charged, v_limit, v_hold.user_id);
      END IF;
    END IF;
    INSERT INTO ledger_entries (team_id, budget_id, period_start, hold_id, kind, amount_mc, charged_delta_mc, actor, memo, created_at)
    VALUES (v_hold.team_id, v_entry.budget_id, v_entry.period_start, p_hold,
            CASE p_status WHEN 'committed' THEN 'commit'::ledger_entry_kind ELSE 'release'::ledger_entry_kind END,
            coalesce(p_actual, v_hold.amount_mc), v_delta, 'ledger', p_reason, p_now);
    -- After the entry, so the alert names this job too.
    IF v_delta > 0 AND v_hard AND v_charged > v_limit THEN
      v_events := v_events || budget_claim_overrun(v_hold.team_id, v_entry.budget_id, v_entry.period_start,
        v_charged, v_limit, v_hold.user_id);
    END IF;
  END LOOP;
  RETURN jsonb_build_object('events', v_events, 'settled', true, 'status', p_status);
END
$$;
--> statement-breakpoint
-- Raises the room of a budget's current period (an admin's adjustment or an approval), recorded in the ledger.
CREATE OR REPLACE FUNCTION ledger_adjust(p_budget bigint, p_amount bigint, p_by text, p_why text, p_now timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_budget budgets%ROWTYPE;
  v_tz text;
  v_start timestamptz;
BEGIN
  SELECT * INTO v_budget FROM budgets WHERE id = p_budget;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown budget %', p_budget USING ERRCODE = 'no_data_found';
  END IF;
  v_tz := workspace_timezone(v_budget.team_id, p_now);
  v_start := budget_period_start(v_budget.period, p_now, v_tz);
  INSERT INTO budget_periods (budget_id, period_start, period_end, limit_mc, hard, allowance_mc)
  VALUES (p_budget, v_start, budget_period_end(v_budget.period, p_now, v_tz), v_budget.limit_mc, v_budget.hard, p_amount)
  ON CONFLICT (budget_id, period_start) DO UPDATE SET allowance_mc = budget_periods.allowance_mc + p_amount;
  INSERT INTO ledger_entries (team_id, budget_id, period_start, kind, amount_mc, charged_delta_mc, allowance_delta_mc, actor, memo, created_at)
  VALUES (v_budget.team_id, p_budget, v_start, 'adjust', p_amount, 0, p_amount, p_by, p_why, p_now);
END
$$;

--> statement-breakpoint
-- A budget created mid-period counts what its scope already spent in that period (src/budget/README.md, "A new
-- budget"): its first period opens with a reserve entry, and the commit for a settled hold, for every hold of the
-- period it would have applied to. "2 credits a day" set at noon leaves 2 less the morning's spending, as a
-- budget set on the 20th of a month counts the month so far.
-- A reservation still in flight would be missed (its hold not yet visible here, the new budget not yet visible to
-- it): the team's reservation lock is taken exclusively first, so they finish before the holds are read, and the
-- ones that start after wait for this budget to be committed and then see it. The holds are locked next: a
-- settle running meanwhile waits, then finds these reserve entries and settles them too (ledger_settle reads the
-- entries after its UPDATE, in a fresh snapshot).
-- What was spent before the budget existed may exceed its limit; a 'limit' entry records it as honoured.
CREATE OR REPLACE FUNCTION ledger_open_budget(p_budget bigint, p_by text, p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_budget budgets%ROWTYPE;
  v_tz text;
  v_start timestamptz;
  v_end timestamptz;
  v_charged bigint;
  v_memo text := 'spent in this period before the budget was set';
BEGIN
  SELECT * INTO v_budget FROM budgets WHERE id = p_budget;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown budget %', p_budget USING ERRCODE = 'no_data_found';
  END IF;
  PERFORM pg_advisory_xact_lock(1701, hashtext(v_budget.team_id));
  v_tz := workspace_timezone(v_budget.team_id, p_now);
  v_start := budget_period_start(v_budget.period, p_now, v_tz);
  v_end := budget_period_end(v_budget.period, p_now, v_tz);
  INSERT INTO budget_periods (budget_id, period_start, period_end, limit_mc, hard)
  VALUES (p_budget, v_start, v_end, v_budget.limit_mc, v_budget.hard)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN NULL;   -- the period exists: it has counted from its start
  END IF;

  WITH spent AS (
    SELECT h.id, h.team_id, h.status, h.amount_mc, h.actual_mc FROM holds h
    WHERE h.team_id = v_budget.team_id AND h.created_at >= v_start AND h.created_at < v_end AND h.status <> 'released'
      AND (v_budget.scope = 'workspace' OR (v_budget.scope = 'channel' AND h.channel_id = v_budget.scope_id)
        OR (v_budget.scope = 'user' AND h.user_id = v_budget.scope_id)
        OR (v_budget.scope = 'tag' AND h.tag = v_budget.scope_id))
    ORDER BY h.id
    FOR UPDATE
  ), reserved AS (
    INSERT INTO ledger_entries (team_id, budget_id, period_start, hold_id, kind, amount_mc, charged_delta_mc, actor, memo, created_at)
    SELECT team_id, p_budget, v_start, id, 'reserve', amount_mc, amount_mc, p_by, v_memo, p_now FROM spent
  ), committed AS (
    INSERT INTO ledger_entries (team_id, budget_id, period_start, hold_id, kind, amount_mc, charged_delta_mc, actor, memo, created_at)
    SELECT team_id, p_budget, v_start, id, 'commit', actual_mc, actual_mc - amount_mc, 'ledger', v_memo, p_now
    FROM spent WHERE status = 'committed'
  )
  SELECT coalesce(sum(CASE status WHEN 'committed' THEN actual_mc ELSE amount_mc END), 0) INTO v_charged FROM spent;

  UPDATE budget_periods SET charged_mc = v_charged WHERE budget_id = p_budget AND period_start = v_start;
  IF v_budget.hard AND v_charged > v_budget.limit_mc THEN
    INSERT INTO ledger_entries (team_id, budget_id, period_start, kind, amount_mc, charged_delta_mc, actor, memo, created_at)
    VALUES (v_budget.team_id, p_budget, v_start, 'limit', v_charged, 0, p_by,
            format('set at %s mc with %s mc already spent in this period', v_budget.limit_mc, v_charged), p_now);
  END IF;
  RETURN v_charged;
END
$$;

--> statement-breakpoint
-- The ledger's entries are its history: every counter is their sum, so none may change or disappear. The database
-- itself refuses it, whoever asks; a mistake is corrected by a new entry that compensates it.
CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation', HINT = 'Record a compensating entry instead.';
END
$$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries;
--> statement-breakpoint
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();
--> statement-breakpoint
DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries;
--> statement-breakpoint
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only();
--> statement-breakpoint
-- The audit trail is history in the same way: who changed what, from what to what, is never rewritten.
DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events;
--> statement-breakpoint
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();
--> statement-breakpoint
DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events;
--> statement-breakpoint
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only();
--> statement-breakpoint
-- A temporary raise is history too: it ends by its date, never by being rewritten or removed.
DROP TRIGGER IF EXISTS budget_raises_append_only ON budget_raises;
--> statement-breakpoint
CREATE TRIGGER budget_raises_append_only BEFORE UPDATE OR DELETE ON budget_raises
FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();

--> statement-breakpoint
-- The queue's claim, ONE statement: the account-wide claim lock is taken, the free Kling slots counted and the
-- jobs picked and marked in the function, and the lock ends with the statement's own commit, so it is never
-- held across a round trip to a client. Each statement in it takes a fresh snapshot (read committed, volatile
-- function), so the count sees every claim committed before the lock was granted.
-- In flight = submitting, submitted, processing (src/generations/states.ts). Lock class 4702001 is the claim's.
--
-- Workspaces share the account fairly: slots go to the workspace with the fewest tasks in flight (counting
-- those just picked), then the one whose oldest job has waited longest. Within a workspace it is round-robin: every user's first
-- job before anyone's second; among them the user with the fewest jobs in flight, then the one served longest
-- ago, then the earliest job. Returns the claimed ids in pick order.
CREATE OR REPLACE FUNCTION queue_claim_submissions(p_per_team int, p_account int, p_limit int, p_worker text, p_lease_ms bigint)
RETURNS TABLE (generation_id text) LANGUAGE plpgsql AS $$
DECLARE
  v_ids text[];
BEGIN
  PERFORM pg_advisory_xact_lock(4702001, 0);
  WITH flying AS MATERIALIZED (
    SELECT g.team_id, count(*)::int AS n FROM generations g
    WHERE g.state IN ('submitting', 'submitted', 'processing')
    GROUP BY g.team_id
  ), teams AS MATERIALIZED (
    -- Only the first p_limit workspaces in the order below can be given a job now, whatever the rest hold.
    SELECT d.team_id, coalesce(f.n, 0) AS team_n, d.oldest
    FROM (SELECT g.team_id, min(g.seq) AS oldest FROM generations g
          WHERE g.state = 'queued' AND g.next_attempt_at <= now() GROUP BY g.team_id) d
    LEFT JOIN flying f USING (team_id)
    WHERE coalesce(f.n, 0) < p_per_team
      AND NOT EXISTS (SELECT 1 FROM workspaces w WHERE w.team_id = d.team_id AND w.queue_paused_at IS NOT NULL)
    ORDER BY 2, 3
    LIMIT p_limit
  ), people AS MATERIALIZED (
    SELECT t.team_id, p.user_id, t.team_n, t.oldest,
           (SELECT count(*) FROM generations g WHERE g.team_id = t.team_id AND g.user_id = p.user_id
              AND g.state IN ('submitting', 'submitted', 'processing')) AS flying,
           (SELECT max(g.submitted_at) FROM generations g WHERE g.team_id = t.team_id AND g.user_id = p.user_id) AS last
    FROM teams t CROSS JOIN LATERAL (
      SELECT DISTINCT g.user_id FROM generations g
      WHERE g.team_id = t.team_id AND g.state = 'queued' AND g.next_attempt_at <= now()
    ) p
  ), ranked AS (
    SELECT q.id, q.seq, p.team_n, p.oldest,
           row_number() OVER (PARTITION BY p.team_id ORDER BY q.turn, p.flying, p.last NULLS FIRST, q.seq) AS team_turn
    FROM people p CROSS JOIN LATERAL (
      -- Only each person's first few jobs can be picked, so no plan ranks the whole queue.
      SELECT g.id, g.seq, row_number() OVER (ORDER BY g.seq) AS turn FROM generations g
      WHERE g.team_id = p.team_id AND g.user_id = p.user_id AND g.state = 'queued' AND g.next_attempt_at <= now()
      ORDER BY g.seq LIMIT least(p_per_team - p.team_n, p_limit)
    ) q
  ), picked AS (
    SELECT r.id, row_number() OVER (ORDER BY r.team_n + r.team_turn, r.oldest, r.seq) AS pos
    FROM ranked r
    WHERE r.team_turn <= p_per_team - r.team_n
    ORDER BY pos
    LIMIT greatest(0, least(p_limit, p_account - (SELECT coalesce(sum(n), 0) FROM flying)))
  )
  SELECT array_agg(picked.id ORDER BY picked.pos) INTO v_ids FROM picked;
  IF v_ids IS NULL THEN
    RETURN;
  END IF;
  -- No row locks were needed to pick (the lock serializes claims); a concurrent cancel either committed first,
  -- or this update waits for it and the state guard skips the row.
  RETURN QUERY
  UPDATE generations g SET
    state = 'submitting',
    attempts = g.attempts + 1,
    -- Jobs claimed together get their pick order in microseconds, so "served longest ago" stays exact.
    submitted_at = now() + array_position(v_ids, g.id) * interval '1 microsecond',
    asked_at = now(),
    next_attempt_at = now() + p_lease_ms * interval '1 millisecond',
    leased_by = p_worker,
    updated_at = now()
  WHERE g.id = ANY (v_ids) AND g.state = 'queued'
  RETURNING g.id;
END
$$;

--> statement-breakpoint
-- The digest reads a workspace's day of generations by time range (those created in it).
CREATE INDEX IF NOT EXISTS generations_team_created ON generations (team_id, created_at);

--> statement-breakpoint
-- The digest, the export and spike alerts read a workspace's holds by time range (those created in a day or period).
CREATE INDEX IF NOT EXISTS holds_team_created ON holds (team_id, created_at);

--> statement-breakpoint
-- A job's short id: the shortest prefix (at least 4 characters) of its uuid that no other job of the workspace
-- has, in capitals ("2FC2"), so people can type it. The full id stays Kling's external_task_id. Rows inserted
-- earlier in the same statement are seen here, and a per-workspace lock until commit keeps two concurrent
-- inserts from picking the same prefix. The look-ups must use the (team_id, short_id) index: a plan cached
-- while the table looked empty would scan it for every row, quadratic in a large insert.
CREATE OR REPLACE FUNCTION generations_short_id() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  v_hex text := upper(replace(regexp_replace(NEW.id, '^kbb_', ''), '-', ''));
BEGIN
  IF NEW.id !~ '^kbb_[0-9a-f]{8}-' THEN   -- not a job the queue made (a test's or an import's own id): itself
    NEW.short_id := NEW.id;
    RETURN NEW;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('generations_short_id'), hashtext(NEW.team_id));
  FOR n IN 4 .. length(v_hex) LOOP
    NEW.short_id := substr(v_hex, 1, n);
    EXIT WHEN NOT EXISTS (SELECT 1 FROM generations WHERE team_id = NEW.team_id AND short_id = NEW.short_id);
  END LOOP;
  RETURN NEW;
END
$$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS generations_short_id ON generations;
--> statement-breakpoint
CREATE TRIGGER generations_short_id BEFORE INSERT ON generations
  FOR EACH ROW WHEN (NEW.short_id IS NULL) EXECUTE FUNCTION generations_short_id();
