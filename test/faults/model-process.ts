/**
 * The model as a process of its own, so a fault test can SIGKILL it in the
 * middle of a stream: an OpenAI simulator on the port given, answering
 * every chat slowly (a frame every `FRAME_MS`), and printing one JSON line
 * per chat request it receives (`{"chat": "<the user's text>"}`).
 *
 *   node bin/run-ts.js test/faults/model-process.ts <port>
 */
import { OpenAIStyleSimulator } from '../simulators/openai-style.ts';
import { lastUserText } from '../simulators/common.ts';
import { SIMULATOR_KEY } from '../simulators/index.ts';

/** The last user item of a Responses API `input` (the history comes before it). */
function lastInputText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (!Array.isArray(input)) return '';
  const item = [...input].reverse().find((i: { role?: string }) => i?.role === 'user') as { content?: unknown } | undefined;
  if (!item) return '';
  if (typeof item.content === 'string') return item.content;
  return Array.isArray(item.content) ? item.content.map((p: { text?: string }) => p?.text ?? '').join('\n') : '';
}

const port = Number(process.argv[2]);
const frameMs = Number(process.env.FRAME_MS ?? 40);
const sim = new OpenAIStyleSimulator('openai', { apiKey: SIMULATOR_KEY });
sim.setDefault((request) => {
  // Chat Completions sends `messages`; the Responses API sends `input` (a string or items).
  const body = (request.body ?? {}) as { messages?: unknown; input?: unknown };
  const text = body.messages !== undefined ? lastUserText(body.messages) : lastInputText(body.input);
  process.stdout.write(`${JSON.stringify({ chat: text })}\n`);
  return { frameDelayMs: frameMs, chunkSize: 6 };
});
await sim.start(port);
process.stdout.write(`model listening on ${sim.baseUrl}\n`);
