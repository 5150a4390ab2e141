-- Retention (#20): admin overrides per room kind and per conversation, a
-- person's own shorter retention, and the mark a message carries while its
-- homeserver side could not be removed yet. Self-contained: applies whether
-- or not the other branches' migrations (0007, 0008, 0010, 0011) are there.
CREATE TABLE IF NOT EXISTS "retention_kind_overrides" (
	"kind" text PRIMARY KEY NOT NULL,
	"retention_days" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "retention_kind_overrides_kind" CHECK ("kind" IN ('personal', 'team', 'agent', 'system')),
	CONSTRAINT "retention_kind_overrides_days" CHECK ("retention_days" IS NULL OR "retention_days" > 0)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "conversation_retention" (
	"conversation_id" uuid PRIMARY KEY NOT NULL REFERENCES "conversations"("id") ON DELETE CASCADE,
	"admin_override" boolean DEFAULT false NOT NULL,
	"admin_days" integer,
	"owner_days" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversation_retention_admin_days" CHECK ("admin_days" IS NULL OR "admin_days" > 0),
	CONSTRAINT "conversation_retention_owner_days" CHECK ("owner_days" IS NULL OR "owner_days" > 0)
);
--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN IF NOT EXISTS "retention_failed_at" timestamp with time zone;
--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN IF NOT EXISTS "retention_error" text;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "messages_conversation_created_idx" ON "messages" ("conversation_id", "created_at");
--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN IF NOT EXISTS "erase_error" text;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "conversations_deleted_idx" ON "conversations" ("deleted_at") WHERE "deleted_at" IS NOT NULL;
--> statement-breakpoint
ALTER TABLE "conversation_matrix_rooms" ADD COLUMN IF NOT EXISTS "erased_at" timestamp with time zone;
