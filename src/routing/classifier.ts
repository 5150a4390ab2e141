/**
 * The deterministic classifier: structure and vocabulary of a message →
 * task type, complexity, domain, required capabilities and a confidence.
 * No model call, no I/O: the same message always classifies the same way,
 * in microseconds. When it is unsure, the model-assisted wrapper
 * (classifier-service.ts) may ask a cheap model.
 */
import type { Attachment, Classification, Complexity, RequiredCapabilities, TaskType } from './types.ts';
import { TASK_TYPES } from './types.ts';

/** Rough tokens per character for mixed prose and code. */
const CHARS_PER_TOKEN = 4;
/** Room kept for the answer on top of the input: about the input's size, within these bounds (small local models have 4k windows). */
const ANSWER_RESERVE_MIN = 1024;
const ANSWER_RESERVE_MAX = 8192;
/** Text in non-image attachments is assumed to be about this share of the file size. */
const ATTACHMENT_TEXT_SHARE = 0.5;

type Scores = Record<TaskType, number>;
const zeroScores = (): Scores => ({ coding: 0, research: 0, summarization: 0, qa: 0, conversation: 0, creative: 0, analysis: 0, translation: 0 });

/** Single words that hint at a task type, with their weight. */
const WORDS: Record<TaskType, Record<string, number>> = {
  coding: Object.fromEntries([
    ...['function', 'functions', 'class', 'method', 'compile', 'compiler', 'bug', 'debug', 'refactor', 'regex', 'sql', 'query', 'endpoint', 'api', 'typescript', 'javascript', 'python', 'rust', 'golang', 'java', 'kotlin', 'swift', 'c++', 'c#', 'ruby', 'php', 'bash', 'shell', 'script', 'dockerfile', 'docker', 'kubernetes', 'k8s', 'yaml', 'json', 'npm', 'pip', 'git', 'repo', 'webpack', 'vite', 'react', 'vue', 'angular', 'node.js', 'nodejs', 'express', 'django', 'flask', 'hook', 'closure', 'segfault', 'exception', 'traceback', 'stacktrace', 'null', 'undefined', 'variable', 'loop', 'array', 'recursion', 'algorithm', 'unit', 'tests', 'vitest', 'jest', 'pytest', 'lint', 'deploy', 'deployment', 'container', 'postgres', 'mysql', 'index', 'schema', 'migration', 'pagination', 'cli', 'implement', 'hash', 'map', 'struct', 'async', 'await', 'thread', 'mutex', 'race', 'compose', 'install', 'html', 'css', 'frontend', 'backend', 'server', 'code', 'coding', 'program', 'programming', 'snippet', 'syntax', 'library', 'framework', 'config', 'build', 'runtime', 'go'].map((w) => [w, 1.5] as const),
    ...['refactor', 'debug', 'segfault', 'traceback', 'stacktrace', 'regex', 'dockerfile'].map((w) => [w, 3] as const),
  ]),
  research: Object.fromEntries([
    ...['research', 'studies', 'study', 'literature', 'papers', 'paper', 'sources', 'citations', 'cite', 'references', 'evidence', 'peer-reviewed', 'consensus', 'trials', 'survey', 'investigate', 'benchmarks', 'findings', 'published', 'meta-analysis', 'scholarly', 'state-of-the-art', 'patents', 'market'].map((w) => [w, 2] as const),
    ...['research', 'literature', 'citations', 'peer-reviewed', 'sources', 'investigate'].map((w) => [w, 3.5] as const),
  ]),
  summarization: Object.fromEntries([
    ...['summarize', 'summarise', 'summary', 'summarization', 'tl;dr', 'tldr', 'recap', 'condense', 'gist', 'takeaways', 'synopsis', 'abridge', 'shorten', 'digest', 'overview'].map((w) => [w, 5] as const),
  ]),
  qa: Object.fromEntries([...['define', 'definition', 'meaning', 'explain', 'difference', 'how', 'why', 'what', 'when', 'who', 'where', 'which'].map((w) => [w, 0.6] as const)]),
  conversation: Object.fromEntries([
    ...['hi', 'hello', 'hey', 'yo', 'thanks', 'thank', 'thx', 'lol', 'haha', 'bye', 'night', 'morning', 'sorry', 'cool', 'nice', 'ok', 'okay', 'chat', 'vent', 'bored', 'feel', 'feeling', 'anxious', 'remember', 'talk', 'friday', 'funny', 'hilarious', 'just', 'my', 'i'].map((w) => [w, 1] as const),
    ...['hi', 'hello', 'hey', 'yo', 'thanks', 'lol', 'haha', 'bye', 'chat', 'vent'].map((w) => [w, 2.5] as const),
  ]),
  creative: Object.fromEntries([
    ...['poem', 'haiku', 'limerick', 'sonnet', 'story', 'stories', 'lyrics', 'song', 'slogan', 'tagline', 'screenplay', 'scene', 'novel', 'chapter', 'fiction', 'fantasy', 'riddle', 'toast', 'names', 'brainstorm', 'invent', 'imagine', 'character', 'plot', 'rpg', 'campaign', 'itinerary', 'bedtime', 'rewrite', 'proofread', 'polite', 'cover', 'letter', 'description', 'catchy', 'funny', 'compose', 'verse', 'verses', 'chorus', 'rhyme', 'world', 'game'].map((w) => [w, 2] as const),
    ...['poem', 'haiku', 'limerick', 'sonnet', 'lyrics', 'slogan', 'tagline', 'screenplay', 'riddle', 'brainstorm', 'proofread', 'rewrite'].map((w) => [w, 4] as const),
  ]),
  analysis: Object.fromEntries([
    ...['analyze', 'analyse', 'analysis', 'compare', 'comparison', 'versus', 'vs', 'evaluate', 'assess', 'assessment', 'critique', 'pros', 'cons', 'trade-offs', 'tradeoffs', 'trend', 'trends', 'implications', 'interpret', 'swot', 'risks', 'risk', 'weigh', 'worth', 'better', 'root', 'cause', 'causes', 'significant', 'overspending', 'strengths', 'weaknesses', 'competitive', 'breakdown', 'data', 'spreadsheet', 'chart', 'results', 'argument', 'themes'].map((w) => [w, 1.5] as const),
    ...['analyze', 'analyse', 'analysis', 'evaluate', 'assess', 'critique', 'swot', 'interpret', 'trade-offs', 'tradeoffs', 'weigh'].map((w) => [w, 3.5] as const),
  ]),
  translation: Object.fromEntries([
    ...['translate', 'translation', 'translated', 'localize', 'localise', 'traduce', 'traduire', 'übersetze', 'übersetzen', 'traduci', 'traduza'].map((w) => [w, 6] as const),
  ]),
};

/** The same table keyed by word, so each word of a message is looked up once. */
const WORD_INDEX = new Map<string, Array<[TaskType, number]>>();
for (const type of TASK_TYPES) {
  for (const [word, weight] of Object.entries(WORDS[type])) {
    const list = WORD_INDEX.get(word) ?? [];
    list.push([type, weight]);
    WORD_INDEX.set(word, list);
  }
}

/** Something that tests text: a regex, or a small function where no regex can be linear. */
interface Cue {
  test(text: string): boolean;
}

/**
 * Every cue runs in time linear in the text (the text is a user's message).
 * A regex that would need `.*` between two parts, or a line anchor after
 * `\s+`, backtracks quadratically on a hostile message; those are split
 * into lines and tested part by part instead.
 */
const LINE_BREAK = /\r\n|[\n\r\u2028\u2029]/;

/** `re` (anchored, no `m` flag) on each line by itself. */
const anyLine = (re: RegExp): Cue => ({ test: (text) => text.split(LINE_BREAK).some((line) => re.test(line)) });

/** `first` somewhere on a line and, after its first occurrence on that line, `then`. */
const onLineAfter = (first: RegExp, then: RegExp): Cue => ({
  test: (text) =>
    text.split(LINE_BREAK).some((line) => {
      const m = first.exec(line);
      return m !== null && then.test(line.slice(m.index + m[0].length));
    }),
});

const either = (...cues: Cue[]): Cue => ({ test: (text) => cues.some((c) => c.test(text)) });

/** Multi-word cues on the lower-cased text. */
const PHRASES: Array<[Cue, TaskType, number]> = [
  [/```|~~~/, 'coding', 5],
  [/\b(traceback \(most recent call last\)|exception in thread|stack trace|segmentation fault|core dumped|panicked at)\b/, 'coding', 6],
  [/\b(\w+error|\w+exception): /, 'coding', 4],
  [anyLine(/^\s+at \S+ \(?[^)]*:\d+:\d+\)?$/), 'coding', 5],
  [/\bfile "[^"]+", line \d+/, 'coding', 5],
  [/[\w./-]\.(ts|tsx|js|jsx|mjs|py|rs|go|java|kt|rb|php|c|h|cpp|cs|swift|sql|sh|yaml|yml|toml|graphql|vue|svelte)\b/, 'coding', 3],
  [/\b(fatal|error|warning): /, 'coding', 2],
  [onLineAfter(/\b(def|fn|func|const|let|var|import|return|public static|#include)\b/, /[({=;]/), 'coding', 3],
  [/\b(write|implement|create|build|add) (a |an |the )?(\w+ ){0,3}(function|class|hook|endpoint|query|script|regex|test|tests|cli|api|module|component|deployment)\b/, 'coding', 3],
  [/\bunit tests?\b/, 'coding', 2],
  [/\bin (python|rust|go|java|javascript|typescript|c\+\+|c#|ruby|kotlin|swift|bash|sql)\b/, 'coding', 2.5],
  [/\b(look up|find out|find (recent |the latest )?(studies|papers|sources|benchmarks|research|evidence)|search for|dig up|look into|gather evidence|what does the (literature|research|evidence) say|what is known about|state of the art|clinical trials?|literature review|compile a list of studies)\b/, 'research', 4],
  [/\b(with|cite|please cite|including) (sources|citations|references)\b/, 'research', 3],
  [/\b(key points|main points|main takeaways|in a nutshell|boil (this|it) down|in (one|two|three|a few) (sentences?|bullet points?|paragraphs?)|executive summary|action items|give me the gist|one-paragraph recap|what we discussed)\b/, 'summarization', 4],
  [/\b(half its length|shorter version|cut it down)\b/, 'summarization', 4],
  [/\b(how do (you|i) say|what does .{1,40} mean in (english|french|spanish|german|italian|japanese|chinese|korean)|in (english|french|spanish|german|italian|japanese|chinese|korean|portuguese|dutch|swedish|russian|arabic|hindi|polish)( please)?[:?]|(into|to) (english|french|spanish|german|italian|japanese|chinese|korean|portuguese|brazilian portuguese|dutch|swedish|russian|arabic|hindi|polish)\b|english word for|ins englische)/, 'translation', 4],
  [/\b(write|compose|draft) (me )?(a|an|the|some) (\w+ ){0,4}(poem|story|song|haiku|limerick|sonnet|toast|letter|speech|scene|chapter|description|bio|riddle|joke)\b/, 'creative', 4],
  [/\b(come up with|make up|give me \d+|brainstorm)\b/, 'creative', 2.5],
  [/\bplan (a|an|my) (\d+-day )?(itinerary|trip|party|wedding|menu)\b/, 'creative', 3],
  [/\b(pros and cons|trade-?offs|is it worth|which (of these|one)( \w+){0,3} is better|root cause|what trend|implications of|strengths and weaknesses|competitive analysis|is it significant|where (we are|i am) overspending)\b/, 'analysis', 4],
  [/^(what|who|when|where|why|which|how|is|are|can|could|does|do|did|should|would|will)\b[^.!]*\?\s*$/, 'qa', 2.5],
  [/^(what|who|when|where|why|which|how|is|are|can|does|do)\b/, 'qa', 1.5],
  [/\b(what('s| is| are) (the|a|an)|how (many|much|long|tall|far|old|do|does)|explain (how|why|what|the)|like i'?m five)\b/, 'qa', 1.5],
  [/^(hi|hello|hey|yo|thanks|thank you|good (morning|night|evening|afternoon)|ok|okay|nice|sorry|lol|happy \w+)\b/, 'conversation', 3],
  [/\b(how are you|what'?s up|what have you been up to|talk later|can we (just )?(chat|talk)|just want to|let'?s just chat)\b/, 'conversation', 3],
  [/^you('re| are)\b/, 'conversation', 3],
  [/^(define|explain|describe) /, 'qa', 2],
  [/\b(what (it|this|they) (says?|tells?|shows?) about|what (does|do) (this|these|the) (\w+ ){0,3}(show|tell|suggest))\b/, 'analysis', 3],
  [/\b(i (just|had|feel|have been)|my (cat|dog|day|week))\b/, 'conversation', 2],
];

/** The leading imperative verb names the task more reliably than anything later in the message. */
const LEADING_VERBS: Record<string, [TaskType, number]> = {
  summarize: ['summarization', 3], summarise: ['summarization', 3], condense: ['summarization', 3], recap: ['summarization', 3], shorten: ['summarization', 3],
  translate: ['translation', 3], localize: ['translation', 3], localise: ['translation', 3],
  analyze: ['analysis', 3], analyse: ['analysis', 3], evaluate: ['analysis', 3], assess: ['analysis', 3], critique: ['analysis', 3], compare: ['analysis', 3],
  research: ['research', 3], investigate: ['research', 3],
  define: ['qa', 2], explain: ['qa', 2],
  fix: ['coding', 3], debug: ['coding', 3], refactor: ['coding', 3], implement: ['coding', 3], optimize: ['coding', 3], optimise: ['coding', 3], convert: ['coding', 1.5],
  imagine: ['creative', 3], invent: ['creative', 3], compose: ['creative', 3], brainstorm: ['creative', 3], proofread: ['creative', 3], rewrite: ['creative', 3],
};

/** Words and patterns that make a message harder or easier. */
const COMPLEX_CUES = /\b(design|architecture|distributed|scalable|production|comprehensive|in depth|in-depth|detailed|step by step|end-to-end|complete|thorough|literature review|migrate|trade-?offs|with (benchmarks|tests|citations|references|sources)|integration tests|consistent voice|multi-tenant|considering|rhyme scheme|legal terms|keeping the (headings|layout|tone))\b/g;
const MODERATE_CUES = /\b(explain|why|how (do|does|did)|difference|review|formal|keeping|keep the|tests?|pagination|race conditions?|replicas|about \d+ words|tone|register)\b/g;
const SIMPLE_CUES = /\b(quick(ly)?|briefly|simple|one (word|sentence|line)|just|short|tl;?dr|what is|define|how do you say|how many|how long|how tall|haiku|slogan|tagline|limerick|riddle|names|proofread|rewrite|grammar|like i'?m five|eli5)\b/g;

const DOMAINS: Array<[string, Cue]> = [
  ['software', /\w(error|exception)\b|\.(ts|tsx|js|py|go|rs|java|rb|c|cpp)\b|\b(code|coding|function|api|bug|python|rust|javascript|typescript|sql|docker|kubernetes|git|server|database|postgres|react|compiler|npm|regex|endpoint|deploy|cli)\b|```/],
  ['data', /\b(data|dataset|spreadsheet|csv|chart|a\/b test|conversion|metrics|statistics|signups|trend)\b/],
  ['math', /\b(equation|integral|derivative|theorem|proof|algebra|calculus|probability|prime number|matrix)\b/],
  ['science', /\b(physics|chemistry|biology|quantum|relativity|photosynthesis|planet|molecule|battery|batteries|protein|climate|gravity|atom)\b/],
  ['health', /\b(health|medical|medicine|vaccine|vaccines|disease|symptoms?|drug|drugs|ibuprofen|fasting|immune|clinical|diet|longevity|alzheimer'?s)\b/],
  ['legal', /\b(legal|law|contract|clause|lawsuit|privacy policy|gdpr|patent|patents|regulat\w+|visa)\b/],
  ['finance', /\b(finance|financial|mortgage|inflation|interest rates?|invest\w*|stock|budget|revenue|price|pricing|salary|tax|churn|expenses|overspending|rent)\b/],
  ['business', /\b(startup|business|market|marketing|customers?|competitors?|swot|strategy|sales|product|company|meeting|board|manager)\b/],
  ['language', either(/\b(translate|translation|grammar|proofread|word for|localize)\b/, onLineAfter(/\bsay /, / in\b/))],
  ['writing', /\b(poem|story|novel|lyrics|essay|screenplay|sonnet|haiku|letter|slogan|tagline)\b/],
  ['travel', /\b(trip|travel|itinerary|flight|hotel|visa|kyoto|lisbon)\b/],
  ['education', /\b(student|students|exam|school|class size|teacher|homework|course)\b/],
];

const TOOL_CUES = /\b(remember|remind me|don'?t forget|save (this|that)|note that|search the web|browse|look up|latest news|today'?s|right now|current (price|weather|news)|fetch|my notes|what did i tell you)\b|https?:\/\//;

/** A question yields to another task type with at least this much evidence. */
const QA_YIELDS_AT = 3;

const WORD_RE = /[a-z][a-z0-9+#.;'-]*[a-z0-9+#]|[a-z]/g;

export interface ClassifyInput {
  text: string;
  attachments?: readonly Attachment[];
  /** Domains the active agent declares: used when the message itself names none. */
  agentDomains?: readonly string[];
}

/** Estimated tokens the input needs (text plus the text of attachments). */
export function estimateInputTokens(text: string, attachments: readonly Attachment[] = []): number {
  let chars = text.length;
  for (const a of attachments) {
    if (a.mimeType.startsWith('image/')) chars += 1600 * CHARS_PER_TOKEN; // a typical image costs ~1.6k tokens
    else if (a.sizeBytes) chars += a.sizeBytes * ATTACHMENT_TEXT_SHARE;
  }
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

function countMatches(re: RegExp, text: string): number {
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text) !== null) n += 1;
  return n;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export function classifyMessage(input: ClassifyInput): Classification {
  const attachments = input.attachments ?? [];
  const raw = input.text;
  // Long pasted bodies carry little task signal and cost time: read the instruction (start) and the end.
  const window = raw.length > 4000 ? `${raw.slice(0, 3000)}\n${raw.slice(-1000)}` : raw;
  const text = window.toLowerCase();
  const scores = zeroScores();

  const words = text.match(WORD_RE) ?? [];
  // Each distinct word counts once. A word never ends in '.', ';' or "'" (WORD_RE ends on a letter, digit, '+' or '#'),
  // and only words of the table are remembered: most words of a long message are in none.
  const seen = new Set<string>();
  for (const word of words) {
    const hits = WORD_INDEX.get(word);
    if (!hits || seen.has(word)) continue;
    seen.add(word);
    for (const [type, weight] of hits) scores[type] += weight;
  }
  const trimmed = text.trim();
  for (const [re, type, weight] of PHRASES) if (re.test(trimmed)) scores[type] += weight;

  const leading = LEADING_VERBS[(trimmed.match(/^(please |can you |could you )?([a-z]+)/)?.[2]) ?? ''];
  if (leading) scores[leading[0]] += leading[1];

  // Attachments: images ask to be looked at; code files are coding; documents are read.
  const images = attachments.filter((a) => a.mimeType.startsWith('image/'));
  const codeFiles = attachments.filter((a) => /\.(ts|tsx|js|py|rs|go|java|rb|php|c|cpp|cs|swift|kt|sql|sh)$/i.test(a.name) || /^text\/x-/.test(a.mimeType));
  const documents = attachments.length - images.length - codeFiles.length;
  if (codeFiles.length) scores.coding += 4;
  if (images.length) scores.qa += 1;
  if (documents > 0 && words.length < 12) scores.summarization += 1.5;

  // A script other than Latin next to an instruction usually means translation.
  if (/[\u0400-\u04ff\u0590-\u06ff\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]/.test(raw) && scores.translation > 0) scores.translation += 2;
  // Very short messages without any cue are small talk.
  if (words.length <= 4 && !trimmed.endsWith('?') && Math.max(...Object.values(scores)) < 2) scores.conversation += 2;
  // A question mark with a dominant topic keeps that topic (e.g. "why does this segfault?" is coding).
  if (trimmed.endsWith('?')) scores.qa += 0.5;

  let best: TaskType = 'conversation';
  let top = 0;
  let second = 0;
  for (const type of TASK_TYPES) {
    const s = scores[type];
    if (s > top) {
      second = top;
      top = s;
      best = type;
    } else if (s > second) second = s;
  }
  if (top === 0) best = trimmed.endsWith('?') ? 'qa' : 'conversation';
  // Question form is weak evidence: a question with a clear topic cue belongs to that topic.
  if (best === 'qa') {
    let alt: TaskType | null = null;
    for (const type of TASK_TYPES) if (type !== 'qa' && scores[type] >= QA_YIELDS_AT && (alt === null || scores[type] > scores[alt])) alt = type;
    if (alt) {
      second = top;
      top = scores[alt];
      best = alt;
    }
  }

  const inputTokens = estimateInputTokens(raw, attachments);
  const complexity = classifyComplexity(text, best, inputTokens, documents, words.length);
  const capabilities: RequiredCapabilities = {
    tools: TOOL_CUES.test(text) && best !== 'translation',
    vision: images.length > 0,
    minContextWindow: inputTokens + Math.min(ANSWER_RESERVE_MAX, Math.max(ANSWER_RESERVE_MIN, inputTokens)),
  };

  const strength = Math.min(1, top / 6);
  const margin = top > 0 ? (top - second) / top : 0;
  const confidence = top === 0 ? 0.2 : round2(Math.min(0.98, 0.15 + 0.85 * strength * (0.35 + 0.65 * margin)));

  return { taskType: best, complexity, domain: classifyDomain(text, input.agentDomains), capabilities, confidence, source: 'rules' };
}

/** Where a task type starts on the complexity scale before the message's own cues. */
const COMPLEXITY_BASE: Record<TaskType, number> = {
  coding: 0,
  research: 1.5,
  summarization: 0,
  qa: 0,
  conversation: -1.5,
  creative: 1,
  analysis: 1,
  translation: 0,
};

/**
 * The instruction without pasted material (code blocks, quotes, a body after
 * "…:\n"): a long pasted article does not make "summarize this" harder.
 */
function instructionOf(text: string): string {
  let s = text.replace(/```[\s\S]*?(```|$)/g, ' ').replace(/"[^"]{20,}"/g, ' "…" ');
  const colonBreak = /:\s*\n/.exec(s);
  if (colonBreak && colonBreak.index > 10) s = s.slice(0, colonBreak.index);
  return s;
}

/** `textWords`: the words of `text` as counted already; the instruction is usually the whole text, and then has as many. */
function classifyComplexity(text: string, task: TaskType, inputTokens: number, documents: number, textWords: number): Complexity {
  const instruction = instructionOf(text);
  const wordCount = instruction === text ? textWords : (instruction.match(WORD_RE) ?? []).length;
  let score = COMPLEXITY_BASE[task];
  if (wordCount > 20) score += 0.5;
  if (wordCount > 30) score += 1;
  score += Math.min(3, countMatches(COMPLEX_CUES, instruction) * 1.5);
  score += Math.min(1.5, countMatches(MODERATE_CUES, instruction) * 0.75);
  score -= Math.min(2, countMatches(SIMPLE_CUES, instruction));
  // Several requirements joined by commas, "and" or semicolons make bounded work bigger.
  // Commas between numbers are data ("Jan 120, Feb 135"), not requirements.
  const requirements = (instruction.match(/(?<!\d\w*),(?! ?\w*\d)|\band\b|;/g) ?? []).length;
  score += Math.min(2, requirements * 0.5);
  if (documents > 0) score += 1;
  if (inputTokens > 20_000) score += 1;
  // A compound question ("what is X and why …") asks for more than one fact.
  if (/\band (why|how|what|which)\b/.test(instruction)) score += 1;
  if (/\b(then|separately|across|every|each)\b/.test(instruction)) score += 1;
  if (score >= 3) return 'complex';
  if (score >= 1) return 'moderate';
  return 'simple';
}

function classifyDomain(text: string, agentDomains: readonly string[] | undefined): string {
  for (const [domain, re] of DOMAINS) if (re.test(text)) return domain;
  return agentDomains?.[0]?.toLowerCase() ?? 'general';
}
