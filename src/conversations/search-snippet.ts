/**
 * The excerpt shown with a search hit: a few words around the first place
 * the query's words occur, each occurrence marked `<<…>>`. Done here, in
 * time linear in the text, rather than by PostgreSQL's ts_headline, whose
 * cover search grows faster than the document: a query of repeated words
 * over a long message held an embedded database (and with it the whole
 * process) for seconds.
 */

/** Characters of a message read for the excerpt; a match further in shows the start instead. */
export const SNIPPET_SOURCE_CHARS = 20_000;
const EXCERPT_CHARS = 220;
const MAX_TERMS = 16;

/** The words a web-search query looks for: not its operators, not what it excludes (`-word`). */
export function queryTerms(query: string): string[] {
  const terms = new Set<string>();
  for (const raw of query.split(/\s+/)) {
    if (!raw || raw.startsWith('-') || raw === 'OR' || raw === 'or') continue;
    for (const word of raw.split(/[^\p{L}\p{N}_]+/u)) {
      if (word) terms.add(word.toLowerCase());
      if (terms.size >= MAX_TERMS) return [...terms];
    }
  }
  return [...terms];
}

const WORD = /[\p{L}\p{N}_]+/gu;

/** Marks the words of `text` that are search terms; one pass over its words, each looked up in a set. */
function mark(text: string, terms: ReadonlySet<string>): string {
  return text.replace(WORD, (w) => (terms.has(w.toLowerCase()) ? `<<${w}>>` : w));
}

export function snippetOf(text: string, query: string): string {
  const source = text.slice(0, SNIPPET_SOURCE_CHARS);
  const terms = new Set(queryTerms(query));
  let first = -1;
  WORD.lastIndex = 0;
  for (let m = WORD.exec(source); m; m = WORD.exec(source)) {
    if (terms.has(m[0].toLowerCase())) {
      first = m.index;
      break;
    }
  }
  let start = 0;
  if (first > EXCERPT_CHARS / 3) {
    start = first - Math.floor(EXCERPT_CHARS / 3);
    const space = source.indexOf(' ', start);
    if (space >= 0 && space < first) start = space + 1;
  }
  let end = Math.min(source.length, start + EXCERPT_CHARS);
  if (end < source.length) {
    const space = source.lastIndexOf(' ', end);
    if (space > start + EXCERPT_CHARS / 2) end = space;
  }
  return `${start > 0 ? '…' : ''}${mark(source.slice(start, end).toWellFormed(), terms)}${end < text.length ? '…' : ''}`;
}
