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
