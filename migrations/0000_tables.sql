CREATE TYPE "public"."budget_alert_kind" AS ENUM('threshold', 'exhausted', 'forecast', 'overrun');--> statement-breakpoint
CREATE TYPE "public"."budget_period" AS ENUM('day', 'week', 'month');--> statement-breakpoint
CREATE TYPE "public"."budget_scope" AS ENUM('workspace', 'channel', 'user', 'tag');--> statement-breakpoint
CREATE TYPE "public"."ledger_entry_kind" AS ENUM('reserve', 'commit', 'release', 'adjust', 'limit');--> statement-breakpoint
CREATE TYPE "public"."hold_status" AS ENUM('open', 'committed', 'released');--> statement-breakpoint
CREATE TYPE "public"."generation_state" AS ENUM('queued', 'submitting', 'submitted', 'processing', 'succeeded', 'failed', 'cancelled', 'refused');--> statement-breakpoint
CREATE TYPE "public"."approval_state" AS ENUM('pending', 'approved', 'denied');--> statement-breakpoint
CREATE TABLE "workspaces" (
	"team_id" text PRIMARY KEY NOT NULL,
	"timezone" text NOT NULL,
	"pending_timezone" text,
	"timezone_effective_at" timestamp with time zone,
	"alerts_channel_id" text,
	"confirm_threshold_mc" bigint,
	"queue_paused_at" timestamp with time zone,
	"queue_pause_reason" text,
	"forecast_alerts" boolean DEFAULT true NOT NULL,
	"spike_alerts" boolean DEFAULT true NOT NULL,
	"spike_factor" real,
	"spike_min_mc" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"team_id" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"actor" text NOT NULL,
	"subject" text NOT NULL,
	"budget_id" bigint,
	"old_value" jsonb,
	"new_value" jsonb,
	"why" text
);
--> statement-breakpoint
CREATE TABLE "budget_alerts" (
	"budget_id" bigint NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"kind" "budget_alert_kind" NOT NULL,
	"threshold" integer NOT NULL,
	"team_id" text NOT NULL,
	"triggered_by" text NOT NULL,
	"charged_mc" bigint NOT NULL,
	"limit_mc" bigint NOT NULL,
	"detail" jsonb,
	"generation_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claimed_until" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"delivered_to" text[],
	CONSTRAINT "budget_alerts_budget_id_period_start_kind_threshold_pk" PRIMARY KEY("budget_id","period_start","kind","threshold")
);
--> statement-breakpoint
CREATE TABLE "budget_periods" (
	"budget_id" bigint NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"limit_mc" bigint NOT NULL,
	"hard" boolean NOT NULL,
	"allowance_mc" bigint DEFAULT 0 NOT NULL,
	"charged_mc" bigint DEFAULT 0 NOT NULL,
	"closed_at" timestamp with time zone,
	CONSTRAINT "budget_periods_budget_id_period_start_pk" PRIMARY KEY("budget_id","period_start")
);
--> statement-breakpoint
CREATE TABLE "budget_raises" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"team_id" text NOT NULL,
	"budget_id" bigint NOT NULL,
	"amount_mc" bigint NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"granted_by" text NOT NULL,
	"approval_id" text,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "budget_raises_amount_positive" CHECK ("budget_raises"."amount_mc" > 0),
	CONSTRAINT "budget_raises_span" CHECK ("budget_raises"."ends_at" > "budget_raises"."starts_at")
);
--> statement-breakpoint
CREATE TABLE "budgets" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"team_id" text NOT NULL,
	"scope" "budget_scope" NOT NULL,
	"scope_id" text NOT NULL,
	"period" "budget_period" NOT NULL,
	"limit_mc" bigint NOT NULL,
	"thresholds" integer[] DEFAULT '{80,100}'::integer[] NOT NULL,
	"hard" boolean DEFAULT true NOT NULL,
	"updated_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "budgets_scope_period" UNIQUE("team_id","scope","scope_id","period"),
	CONSTRAINT "budgets_limit_nonnegative" CHECK ("budgets"."limit_mc" >= 0)
);
--> statement-breakpoint
CREATE TABLE "holds" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"team_id" text NOT NULL,
	"user_id" text NOT NULL,
	"channel_id" text,
	"tag" text,
	"generation_id" text,
	"amount_mc" bigint NOT NULL,
	"status" "hold_status" DEFAULT 'open' NOT NULL,
	"actual_mc" bigint,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"settled_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "ledger_entries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"team_id" text NOT NULL,
	"budget_id" bigint NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"hold_id" uuid,
	"kind" "ledger_entry_kind" NOT NULL,
	"amount_mc" bigint NOT NULL,
	"charged_delta_mc" bigint NOT NULL,
	"allowance_delta_mc" bigint DEFAULT 0 NOT NULL,
	"actor" text NOT NULL,
	"memo" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "spike_alerts" (
	"team_id" text NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_id" text NOT NULL,
	"day" date NOT NULL,
	"today_mc" bigint NOT NULL,
	"median_mc" bigint NOT NULL,
	"detail" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claimed_until" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"delivered_to" text[],
	CONSTRAINT "spike_alerts_team_id_subject_kind_subject_id_day_pk" PRIMARY KEY("team_id","subject_kind","subject_id","day")
);
--> statement-breakpoint
CREATE TABLE "generations" (
	"id" text PRIMARY KEY NOT NULL,
	"short_id" text,
	"seq" bigserial NOT NULL,
	"team_id" text NOT NULL,
	"channel_id" text NOT NULL,
	"user_id" text NOT NULL,
	"tag" text,
	"endpoint" text NOT NULL,
	"request" jsonb NOT NULL,
	"source" jsonb,
	"request_key" text NOT NULL,
	"description" text,
	"estimate_mc" bigint NOT NULL,
	"hold_id" uuid,
	"state" "generation_state" DEFAULT 'queued' NOT NULL,
	"kling_task_id" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"not_before" timestamp with time zone,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"leased_by" text,
	"asked_at" timestamp with time zone,
	"called_back_at" timestamp with time zone,
	"card_channel_id" text,
	"card_ts" text,
	"card_claimed_by" text,
	"card_claimed_until" timestamp with time zone,
	"card_state" "generation_state",
	"card_place" integer,
	"result_posted_at" timestamp with time zone,
	"batch_id" text,
	"claim_key" text,
	"parent_id" text,
	"follow_up" text,
	"result" jsonb,
	"error_code" integer,
	"error_message" text,
	"actual_mc" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"submitted_at" timestamp with time zone,
	"stuck_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "digest_runs" (
	"team_id" text NOT NULL,
	"digest_date" date NOT NULL,
	"claimed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claimed_by" text NOT NULL,
	"posted_at" timestamp with time zone,
	"outcome" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	CONSTRAINT "digest_runs_team_id_digest_date_pk" PRIMARY KEY("team_id","digest_date")
);
--> statement-breakpoint
CREATE TABLE "approvals" (
	"id" text PRIMARY KEY NOT NULL,
	"team_id" text NOT NULL,
	"channel_id" text NOT NULL,
	"user_id" text NOT NULL,
	"command_text" text NOT NULL,
	"follow_up" jsonb,
	"description" text NOT NULL,
	"amount_mc" bigint NOT NULL,
	"state" "approval_state" DEFAULT 'pending' NOT NULL,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"claim_key" text
);
--> statement-breakpoint
CREATE TABLE "batch_forms" (
	"form_id" text PRIMARY KEY NOT NULL,
	"team_id" text NOT NULL,
	"user_id" text NOT NULL,
	"channel_id" text NOT NULL,
	"tag" text,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"changed_ts" numeric
);
--> statement-breakpoint
CREATE TABLE "account_alerts" (
	"key" text NOT NULL,
	"channel_id" text NOT NULL,
	"claimed_until" timestamp with time zone NOT NULL,
	"delivered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "account_alerts_key_channel_id_pk" PRIMARY KEY("key","channel_id")
);
--> statement-breakpoint
CREATE TABLE "kling_account" (
	"id" text PRIMARY KEY NOT NULL,
	"attempted_at" timestamp with time zone,
	"read_at" timestamp with time zone,
	"packs" jsonb,
	"runout_days" integer,
	"expiry_days" integer,
	"reconcile_tolerance_mc" bigint DEFAULT 0,
	"reconciled_on" text
);
--> statement-breakpoint
ALTER TABLE "budget_periods" ADD CONSTRAINT "budget_periods_budget_id_budgets_id_fk" FOREIGN KEY ("budget_id") REFERENCES "public"."budgets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "budget_raises" ADD CONSTRAINT "budget_raises_budget_id_budgets_id_fk" FOREIGN KEY ("budget_id") REFERENCES "public"."budgets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "budgets" ADD CONSTRAINT "budgets_team_id_workspaces_team_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."workspaces"("team_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_events_team_at" ON "audit_events" USING btree ("team_id","at");--> statement-breakpoint
CREATE INDEX "budget_alerts_undelivered" ON "budget_alerts" USING btree ("team_id") WHERE "budget_alerts"."delivered_at" is null;--> statement-breakpoint
CREATE INDEX "budget_raises_budget" ON "budget_raises" USING btree ("budget_id","ends_at");--> statement-breakpoint
CREATE INDEX "ledger_entries_period" ON "ledger_entries" USING btree ("budget_id","period_start");--> statement-breakpoint
CREATE INDEX "ledger_entries_hold" ON "ledger_entries" USING btree ("hold_id");--> statement-breakpoint
CREATE INDEX "spike_alerts_undelivered" ON "spike_alerts" USING btree ("team_id") WHERE "spike_alerts"."delivered_at" is null;--> statement-breakpoint
CREATE INDEX "generations_due_queued" ON "generations" USING btree ("team_id","next_attempt_at") WHERE "generations"."state" = 'queued';--> statement-breakpoint
CREATE INDEX "generations_due_active" ON "generations" USING btree ("next_attempt_at") WHERE "generations"."state" in ('submitting','submitted','processing');--> statement-breakpoint
CREATE INDEX "generations_in_flight" ON "generations" USING btree ("team_id","user_id") WHERE "generations"."state" in ('submitting','submitted','processing');--> statement-breakpoint
CREATE INDEX "generations_user" ON "generations" USING btree ("team_id","user_id","created_at");--> statement-breakpoint
CREATE INDEX "generations_card_due" ON "generations" USING btree ("seq") WHERE "generations"."state" <> 'refused' and ("generations"."card_ts" is null
      or "generations"."card_state" is distinct from "generations"."state" or ("generations"."state" = 'succeeded' and "generations"."result_posted_at" is null));--> statement-breakpoint
CREATE UNIQUE INDEX "generations_claim" ON "generations" USING btree ("team_id","claim_key");--> statement-breakpoint
CREATE UNIQUE INDEX "generations_short_id" ON "generations" USING btree ("team_id","short_id");--> statement-breakpoint
CREATE INDEX "generations_request_key" ON "generations" USING btree ("team_id","request_key","ended_at") WHERE "generations"."state" = 'succeeded';--> statement-breakpoint
CREATE INDEX "approvals_team_requested" ON "approvals" USING btree ("team_id","requested_at");--> statement-breakpoint
CREATE UNIQUE INDEX "approvals_claim" ON "approvals" USING btree ("team_id","claim_key");