DROP INDEX "messages_channel_external_uq";--> statement-breakpoint
ALTER TABLE "appservice_events" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Existing messages take their conversation's owner before the column becomes NOT NULL.
ALTER TABLE "messages" ADD COLUMN "owner_id" uuid;--> statement-breakpoint
UPDATE "messages" SET "owner_id" = "conversations"."owner_id" FROM "conversations" WHERE "conversations"."id" = "messages"."conversation_id";--> statement-breakpoint
ALTER TABLE "messages" ALTER COLUMN "owner_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "messages_owner_channel_external_uq" ON "messages" USING btree ("owner_id","channel","external_id");
