-- Agent rooms (appservice/agent-rooms/, #19) recorded when the appservice creates or first finds one,
-- so the retention purge can find every one of them after a restart and on any replica. The
-- initial schema's agent_rooms (keyed by a pair of agents) was never written: it could not hold a
-- person's own room for a pair with a shared agent, nor a group's room, so it is replaced.
-- `redacted_before`: every event of the room older than this is redacted (the purge starts there next time).
DROP TABLE IF EXISTS "agent_rooms";
--> statement-breakpoint
CREATE TABLE "agent_rooms" (
	"room_id" text PRIMARY KEY NOT NULL,
	"alias" text NOT NULL,
	"redacted_before" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agent_rooms_alias_unique" UNIQUE("alias")
);
