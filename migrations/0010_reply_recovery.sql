-- Reply recovery (src/conversations/reply-recovery.ts) looks, every few seconds, for stored user
-- messages of the last hours without an answer. Both lookups need an index on a large table:
-- recent user messages by time, and answers by the message they answer.
CREATE INDEX IF NOT EXISTS "messages_user_created_idx" ON "messages" USING btree ("created_at") WHERE "role" = 'user';
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "messages_reply_to_idx" ON "messages" USING btree ("reply_to_id");
