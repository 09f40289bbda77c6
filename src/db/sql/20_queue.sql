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
