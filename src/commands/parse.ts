/**
 * Chat commands are parsed once, here, for every channel. `!name` and
 * `/name` are the same command; `--flag value` pairs and quoted words are
 * understood.
 */
export interface ParsedCommand {
  name: string;
  /** Everything after the name, trimmed. */
  rest: string;
  /** Words of `rest` outside flags, quotes removed. */
  args: string[];
  flags: Record<string, string | true>;
}

const COMMAND = /^[!/]([a-z][a-z0-9-]*)(?:\s+([\s\S]*))?$/i;

export function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(\S+)/g;
  for (const m of text.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3] ?? '').replace(/\\(["'\\])/g, '$1'));
  return out;
}

/** The command in a message, or null when the message is not a command. */
export function parseCommand(text: string): ParsedCommand | null {
  const trimmed = text.trim();
  const match = COMMAND.exec(trimmed);
  if (!match) return null;
  const name = match[1]!.toLowerCase();
  const rest = (match[2] ?? '').trim();
  const args: string[] = [];
  const flags: Record<string, string | true> = {};
  const words = tokenize(rest);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('--') && w.length > 2) {
      const [key, inline] = w.slice(2).split('=', 2) as [string, string | undefined];
      if (inline !== undefined) flags[key] = inline;
      else if (i + 1 < words.length && !words[i + 1]!.startsWith('--')) flags[key] = words[++i]!;
      else flags[key] = true;
    } else {
      args.push(w);
    }
  }
  return { name, rest, args, flags };
}
