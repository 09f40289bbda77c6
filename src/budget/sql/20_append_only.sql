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
