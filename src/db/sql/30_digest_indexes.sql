-- The digest reads a workspace's day by time range (holds and generations created in it). These tables belong to the
-- ledger and the queue; the indexes live here because only the digest's queries need them.
CREATE INDEX IF NOT EXISTS holds_team_created ON holds (team_id, created_at);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS generations_team_created ON generations (team_id, created_at);
