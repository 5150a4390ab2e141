/**
 * The command set shared by every channel. Channels may add their own
 * (the Matrix bot adds !room, !agents, !rooms) through `register`.
 */
import { MosaicError, isMosaicError } from '../errors.ts';
import { parseCommand, type ParsedCommand } from './parse.ts';
import type { CommandContext, CommandDefinition, CommandResult } from './types.ts';

export class CommandRegistry {
  private readonly byName = new Map<string, CommandDefinition>();

  register(def: CommandDefinition): void {
    for (const name of [def.name, ...(def.aliases ?? [])]) {
      if (this.byName.has(name)) throw new Error(`command "${name}" is registered twice`);
      this.byName.set(name, def);
    }
  }

  list(): CommandDefinition[] {
    return [...new Set(this.byName.values())].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Whether the text is a command this registry knows (unknown `!words` are plain messages). */
  match(text: string): { def: CommandDefinition; parsed: ParsedCommand } | null {
    const parsed = parseCommand(text);
    if (!parsed) return null;
    const def = this.byName.get(parsed.name);
    return def ? { def, parsed } : null;
  }

  async execute(text: string, ctx: CommandContext): Promise<CommandResult | null> {
    const found = this.match(text);
    if (!found) return null;
    if (found.def.needsConversation && !ctx.conversationId) {
      return { text: `\`!${found.def.name}\` works inside a conversation. Start one with \`!new\`.` };
    }
    try {
      return await found.def.run(found.parsed, ctx);
    } catch (err) {
      if (isMosaicError(err) && err.httpStatus < 500) return { text: `⚠️ ${err.userNotice}`, data: { error: { code: err.code, message: err.message } } };
      throw err;
    }
  }
}

export class CommandUsageError extends MosaicError {
  constructor(usage: string, problem?: string) {
    super('command_usage', `${problem ? `${problem}. ` : ''}Usage: ${usage}`, { httpStatus: 400 });
  }
}
