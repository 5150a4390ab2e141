/** What a command handler may use and what it answers. */
import type { Actor } from '../identity/actor.ts';
import type { ParsedCommand } from './parse.ts';

export interface CommandContext {
  actor: Actor;
  /** The conversation the command was sent in; null in a bot DM outside any conversation. */
  conversationId: string | null;
  channel: string;
  /** The stored message that carried the command, when there is one. */
  messageId?: string;
  /** Who wrote the command when that is not `actor` (a team member in a shared room, where `actor` is the owner). */
  speakerId?: string;
  /** The account of `speakerId`, when it is enabled: commands about the person (their usage, their budget) act on it. */
  speaker?: Actor;
}

export interface CommandResult {
  /** Markdown shown to the person as a notice. */
  text: string;
  /** Machine-readable result for API clients. */
  data?: unknown;
  /** A conversation the command created or opened (`/new`), for channels to act on. */
  openConversationId?: string;
}

export interface CommandDefinition {
  name: string;
  aliases?: string[];
  usage: string;
  summary: string;
  /** Needs a conversation to act on. */
  needsConversation: boolean;
  run(command: ParsedCommand, ctx: CommandContext): Promise<CommandResult>;
}
