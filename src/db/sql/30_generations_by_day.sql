-- The digest reads a workspace's day of generations by time range (those created in it).
CREATE INDEX IF NOT EXISTS generations_team_created ON generations (team_id, created_at);
