/**
 * Markdown → Matrix `org.matrix.custom.html`, restricted to what the spec
 * allows in `formatted_body` (tags, link schemes, mxc-only images,
 * `language-*` code classes, nesting depth), always with a plain `body`.
 */
import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';

const md = new MarkdownIt({ html: false, linkify: true, breaks: true });

const ALLOWED_TAGS = [
  'del', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'p', 'a', 'ul', 'ol', 'sup', 'sub', 'li', 'b', 'i', 'u',
  'strong', 'em', 's', 'code', 'hr', 'br', 'div', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'caption', 'pre', 'span',
  'img', 'details', 'summary',
];

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: ALLOWED_TAGS,
  allowedAttributes: {
    a: ['href', 'target'],
    img: ['src', 'alt', 'title', 'width', 'height', 'data-mx-emoticon'],
    ol: ['start'],
    code: ['class'],
    span: ['data-mx-bg-color', 'data-mx-color', 'data-mx-spoiler', 'data-mx-maths'],
    div: ['data-mx-maths'],
    th: ['align'],
    td: ['align'],
  },
  allowedClasses: { code: [/^language-[\w+#.-]+$/] as unknown as string[] },
  allowedSchemes: ['http', 'https', 'ftp', 'mailto', 'magnet'],
  allowedSchemesByTag: { img: ['mxc'] },
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
  nestingLimit: 100,
  // Clients only load mxc images; any other image becomes nothing rather than a broken tag.
  exclusiveFilter: (frame) => frame.tag === 'img' && !(frame.attribs.src ?? '').startsWith('mxc://'),
  disallowedTagsMode: 'discard',
};

export function sanitizeMatrixHtml(html: string): string {
  return sanitizeHtml(html, SANITIZE);
}

export function renderMarkdown(markdown: string): string {
  return sanitizeMatrixHtml(md.render(markdown)).trim();
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface TextContent {
  msgtype: 'm.text' | 'm.notice' | 'm.emote';
  body: string;
  format?: 'org.matrix.custom.html';
  formatted_body?: string;
}

/** Message content for markdown text: a plain body and, when it has formatting, sanitised HTML. */
export function markdownContent(markdown: string, msgtype: TextContent['msgtype'] = 'm.text', extraHtml = '', extraPlain = ''): TextContent {
  const html = renderMarkdown(markdown) + extraHtml;
  const body = markdown + extraPlain;
  const plainHtml = `<p>${escapeHtml(markdown).replace(/\n/g, '<br />')}</p>`;
  if (!extraHtml && (html === plainHtml || html === `<p>${escapeHtml(markdown)}</p>`)) return { msgtype, body };
  return { msgtype, body, format: 'org.matrix.custom.html', formatted_body: html };
}

/** A code block with its language. */
export function codeContent(code: string, language: string | undefined): TextContent {
  const lang = language && /^[\w+#.-]+$/.test(language) ? language : '';
  return {
    msgtype: 'm.text',
    body: `\`\`\`${lang}\n${code}\n\`\`\``,
    format: 'org.matrix.custom.html',
    formatted_body: `<pre><code${lang ? ` class="language-${lang}"` : ''}>${escapeHtml(code)}</code></pre>`,
  };
}

export interface RoutingSummary {
  provider?: string;
  model?: string;
  rule?: { name: string } | null;
  reason?: string;
  classification?: { taskType?: string };
}

/** The short final line under an answer: which model, which rule, why. */
export function routingLine(routing: RoutingSummary | null | undefined, model?: string | null): { plain: string; html: string } | null {
  if (!routing || !routing.provider) return null;
  const ref = `${routing.provider}/${model ?? routing.model}`;
  const rule = routing.rule ? `rule “${routing.rule.name}”` : 'no rule (pinned or fallback)';
  const why = (routing.reason ?? '').replace(/\s+/g, ' ').trim();
  const shortWhy = why.length > 120 ? `${why.slice(0, 117)}…` : why;
  const parts = [ref, rule, ...(shortWhy ? [shortWhy] : [])];
  return {
    plain: `\n\n— ${parts.join(' · ')}`,
    html: `<p><sub>— <code>${escapeHtml(ref)}</code> · ${escapeHtml(rule)}${shortWhy ? ` · ${escapeHtml(shortWhy)}` : ''}</sub></p>`,
  };
}

/**
 * Heuristic: does a plain body use markdown syntax? A block marker at the
 * start of a line (heading, list item, numbered item, quote, code fence),
 * or inline code, **bold**, a [link](url) or _emphasis_.
 *
 * A hand-written scanner rather than one regular expression: the body is
 * whatever a room member typed, and the regex this replaced backtracked
 * quadratically (a 60 KB body of "[" stalled the process for seconds).
 * Every part below looks at each character a bounded number of times.
 */
export function looksLikeMarkdown(body: string): boolean {
  return hasBlockMarker(body) || hasInlineCode(body) || hasBold(body) || hasLink(body) || hasUnderscoreEmphasis(body);
}

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** `# `, `- `, `* `, `+ `, `1. `, `> ` or a fence after a line's leading whitespace. */
function hasBlockMarker(body: string): boolean {
  for (let start = 0; start <= body.length; ) {
    let i = start;
    while (i < body.length && body[i] !== '\n' && isSpace(body[i])) i++;
    const c = body[i];
    if (c === '#') {
      let j = i;
      while (body[j] === '#') j++;
      if (j - i <= 6 && isSpace(body[j])) return true;
    } else if ((c === '-' || c === '*' || c === '+' || c === '>') && isSpace(body[i + 1])) return true;
    else if (isDigit(c)) {
      let j = i;
      while (isDigit(body[j])) j++;
      if (body[j] === '.' && isSpace(body[j + 1])) return true;
    } else if (body.startsWith('```', i)) return true;
    const next = body.indexOf('\n', i);
    if (next < 0) break;
    start = next + 1;
  }
  return false;
}

/** Two backticks with something between them. */
function hasInlineCode(body: string): boolean {
  for (let open = body.indexOf('`'); open >= 0; ) {
    const close = body.indexOf('`', open + 1);
    if (close < 0) return false;
    if (close > open + 1) return true;
    open = close;
  }
  return false;
}

/** `**`, at least one character that is not `*`, `**`. */
function hasBold(body: string): boolean {
  for (let i = body.indexOf('**'); i >= 0; i = body.indexOf('**', i + 1)) {
    if (i + 2 >= body.length || body[i + 2] === '*') continue;
    const star = body.indexOf('*', i + 2);
    if (star < 0) return false;
    if (body[star + 1] === '*') return true;
    // No "**" starts between i and this lone star; continue from it.
    i = star;
  }
  return false;
}

/** `[text](target)`: text without `]`, target without `)`, neither empty. */
function hasLink(body: string): boolean {
  let open = -1;
  let noParenFrom = Infinity;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '[') {
      if (open < 0) open = i;
    } else if (c === ']') {
      if (open >= 0 && open < i - 1 && body[i + 1] === '(' && i + 2 < noParenFrom) {
        const close = body.indexOf(')', i + 2);
        if (close > i + 2) return true;
        if (close < 0) noParenFrom = i + 2;
      }
      open = -1;
    }
  }
  return false;
}

/** `_text_` with whitespace (or the body's ends) on both outer sides. */
function hasUnderscoreEmphasis(body: string): boolean {
  for (let i = body.indexOf('_'); i >= 0; ) {
    const next = body.indexOf('_', i + 1);
    if (next < 0) return false;
    if ((i === 0 || isSpace(body[i - 1])) && next > i + 1 && (next + 1 === body.length || isSpace(body[next + 1]))) return true;
    i = next;
  }
  return false;
}

/** Removes a reply fallback (`> <@user> quoted` lines) that older clients put before the body. */
export function stripReplyFallback(body: string): string {
  if (!body.startsWith('> ')) return body;
  const lines = body.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('>')) i++;
  if (i < lines.length && lines[i] === '') i++;
  return lines.slice(i).join('\n');
}
