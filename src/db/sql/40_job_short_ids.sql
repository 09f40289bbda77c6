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
