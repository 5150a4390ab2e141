/**
 * Syntax colours for code blocks: one small scanner (comments, strings,
 * numbers, keywords, types) with keyword sets for the languages answers
 * use most. Not a parser — it colours what it recognises and leaves the
 * rest as it is, one line at a time (a block comment or string spanning
 * lines carries over).
 */
import { style } from './ansi.ts';

const KEYWORDS: Record<string, string> = {
  js: 'async await break case catch class const continue debugger default delete do else export extends finally for from function if import in instanceof let new of return static super switch this throw try typeof var void while with yield null undefined true false',
  ts: 'abstract as declare enum implements interface keyof namespace private protected public readonly type satisfies',
  py: 'and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield None True False self',
  go: 'break case chan const continue default defer else fallthrough for func go goto if import interface map package range return select struct switch type var nil true false',
  rust: 'as async await break const continue crate dyn else enum extern fn for if impl in let loop match mod move mut pub ref return self Self static struct super trait type unsafe use where while true false Some None Ok Err',
  sh: 'if then else elif fi for while do done case esac in function return export local echo exit set unset',
  sql: 'select from where insert into values update set delete create table index join left right inner outer on group by order having limit offset and or not null as distinct primary key references',
  java: 'abstract boolean break byte case catch char class const continue default do double else enum extends final finally float for if implements import instanceof int interface long new package private protected public return short static super switch this throw throws try void volatile while null true false',
  c: 'auto break case char const continue default do double else enum extern float for goto if int long register return short signed sizeof static struct switch typedef union unsigned void volatile while NULL true false include define',
  json: 'true false null',
};

const ALIASES: Record<string, string> = {
  javascript: 'js', jsx: 'js', mjs: 'js', typescript: 'ts', tsx: 'ts', python: 'py', golang: 'go', rs: 'rust',
  bash: 'sh', shell: 'sh', zsh: 'sh', console: 'sh', postgres: 'sql', postgresql: 'sql', kotlin: 'java', cpp: 'c', 'c++': 'c', h: 'c', csharp: 'java', cs: 'java', yaml: 'sh', yml: 'sh', toml: 'sh',
};

function keywordsFor(lang: string): Set<string> | null {
  const l = ALIASES[lang.toLowerCase()] ?? lang.toLowerCase();
  if (!(l in KEYWORDS)) return null;
  const words = l === 'ts' ? `${KEYWORDS.js} ${KEYWORDS.ts}` : KEYWORDS[l]!;
  return new Set(l === 'sql' ? words.split(' ').flatMap((w) => [w, w.toUpperCase()]) : words.split(' '));
}

const hashComments = new Set(['py', 'sh', 'python', 'bash', 'shell', 'zsh', 'yaml', 'yml', 'toml', 'rb', 'ruby', 'console']);

/** Highlights a code block's lines; unknown languages come back unchanged. */
export function highlight(code: string, lang: string): string[] {
  const lines = code.split('\n');
  const keywords = keywordsFor(lang);
  if (!keywords) return lines;
  const hash = hashComments.has(lang.toLowerCase());
  const sqlish = (ALIASES[lang.toLowerCase()] ?? lang.toLowerCase()) === 'sql';
  let inBlock = false;
  return lines.map((line) => {
    let out = '';
    let i = 0;
    while (i < line.length) {
      const rest = line.slice(i);
      if (inBlock) {
        const end = rest.indexOf('*/');
        const part = end < 0 ? rest : rest.slice(0, end + 2);
        out += style.gray(part);
        i += part.length;
        if (end >= 0) inBlock = false;
        continue;
      }
      let m: RegExpExecArray | null;
      if (rest.startsWith('/*') && !hash) {
        inBlock = true;
        continue;
      }
      if ((!hash && !sqlish && rest.startsWith('//')) || (hash && rest.startsWith('#')) || (sqlish && rest.startsWith('--'))) {
        out += style.gray(rest);
        break;
      }
      if ((m = /^("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|`(?:[^`\\]|\\.)*`?)/.exec(rest))) {
        out += style.green(m[0]);
        i += m[0].length;
        continue;
      }
      if ((m = /^\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?\b/i.exec(rest))) {
        out += style.magenta(m[0]);
        i += m[0].length;
        continue;
      }
      if ((m = /^[A-Za-z_$][\w$]*/.exec(rest))) {
        const w = m[0];
        out += keywords.has(w) ? style.blue(w) : /^[A-Z][a-z]/.test(w) ? style.cyan(w) : rest[w.length] === '(' ? style.yellow(w) : w;
        i += w.length;
        continue;
      }
      out += line[i];
      i += 1;
    }
    return out;
  });
}
