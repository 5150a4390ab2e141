/**
 * The command set shared by every channel. Channels may add their own
 * (the Matrix bot adds !room, !agents, !rooms) through `register`. A
 * command name nobody registered is still a command: it answers "unknown
 * command" with the closest name, and never reaches a model.
 */
import { MosaicError, isMosaicError } from '../errors.ts';
import { parseCommand, type ParsedCommand } from './parse.ts';
import { distance } from './edit-distance.ts';
import type { CommandContext, CommandDefinition, CommandResult } from './types.ts';

/** The name an unknown command's answer is stored under. */
export const UNKNOWN_COMMAND = 'unknown';

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

  /** The command in the text, or null when it is not one; a name nobody registered matches the "unknown command" answer. */
  match(text: string): { def: CommandDefinition; parsed: ParsedCommand } | null {
    const parsed = parseCommand(text);
    if (!parsed) return null;
    const def = this.byName.get(parsed.name) ?? this.unknown(parsed.name, text.trim().startsWith('/') ? '/' : '!');
    return { def, parsed };
  }

  /** The registered name closest to a mistyped one, when it is close enough to be what was meant. */
  closest(name: string): string | null {
    let best: { name: string; d: number } | null = null;
    for (const known of this.byName.keys()) {
      const d = distance(name, known);
      if (!best || d < best.d || (d === best.d && known < best.name)) best = { name: known, d };
    }
    return best && best.d <= Math.max(2, Math.floor(name.length / 3)) ? best.name : null;
  }

  private unknown(name: string, sigil: '/' | '!'): CommandDefinition {
    const suggestion = this.closest(name);
    const message = `unknown command ${sigil}${name}${suggestion ? `; did you mean ${sigil}${suggestion}?` : ''} Send ${sigil}help for the list.`;
    return {
      name: UNKNOWN_COMMAND,
      usage: '',
      summary: '',
      needsConversation: false,
      run: async () => ({
        text: `Unknown command \`${sigil}${name}\`.${suggestion ? ` Did you mean \`${sigil}${suggestion}\`?` : ''} Send \`${sigil}help\` for the list.`,
        data: { error: { code: 'unknown_command', message }, suggestion },
      }),
    };
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
