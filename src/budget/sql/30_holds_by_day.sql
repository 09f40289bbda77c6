-- The digest, the export and spike alerts read a workspace's holds by time range (those created in a day or period).
CREATE INDEX IF NOT EXISTS holds_team_created ON holds (team_id, created_at);
