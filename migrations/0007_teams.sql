-- Teams (#18): a monthly budget per team, the indexes the visibility checks use,
-- which team a model call was charged to, and who a shared room invited (so an
-- unshare removes only them). Self-contained: it applies with or without the
-- other branches' migrations. A Space (and who a share invited) outlives its
-- team's row until the Matrix side has cleaned it up, so neither references
-- teams: deleting a team must not erase what the channel still has to undo.
ALTER TABLE "teams" ADD COLUMN IF NOT EXISTS "monthly_budget_usd" numeric(12, 2);
--> statement-breakpoint
ALTER TABLE "usage_records" ADD COLUMN IF NOT EXISTS "team_id" uuid REFERENCES "teams"("id") ON DELETE SET NULL;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "usage_records_team_idx" ON "usage_records" ("team_id", "created_at");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "conversations_team_idx" ON "conversations" ("team_id");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "team_members_user_idx" ON "team_members" ("user_id");
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "shared_room_invites" (
	"room_id" text NOT NULL,
	"matrix_user_id" text NOT NULL,
	"team_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "shared_room_invites_pk" PRIMARY KEY ("room_id", "matrix_user_id")
);
--> statement-breakpoint
ALTER TABLE "team_spaces" DROP CONSTRAINT IF EXISTS "team_spaces_team_id_teams_id_fk";
