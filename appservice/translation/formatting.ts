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

/** Heuristic: does a plain body use markdown syntax? */
export function looksLikeMarkdown(body: string): boolean {
  return /(^|\n)\s*(#{1,6}\s|[-*+]\s|\d+\.\s|>\s|```)|`[^`]+`|\*\*[^*]+\*\*|\[[^\]]+\]\([^)]+\)|(^|\s)_[^_]+_(\s|$)/.test(body);
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
