/**
 * What the Matrix edge costs per send: encoding an answer's final edit as
 * canonical JSON (it replaces JSON.stringify in every request), and
 * splitting a long answer into parts that fit an event. Prints figures;
 * asserts nothing. `node bin/run-ts.js bench/matrix-outbound.ts`
 */
import { performance } from 'node:perf_hooks';
import { editContent, partContent, splitParts } from '../appservice/outbound/answer-parts.ts';
import { routingField } from '../appservice/outbound/routing-field.ts';
import { encodeCanonicalJson } from '../appservice/transport/canonical-json.ts';
import { largestEnvelopeBytes, MAX_CONTENT_BYTES } from '../appservice/transport/event-limits.ts';

function time(label: string, runs: number, fn: () => unknown): void {
  for (let i = 0; i < Math.min(50, runs); i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!.toFixed(3);
  console.log(`${label.padEnd(58)} median ${q(0.5)} ms  p95 ${q(0.95)} ms  (${runs} runs)`);
}

const routing = routingField({
  provider: 'anthropic',
  model: 'claude-sonnet-5-5',
  rule: { id: 'r', name: 'Coding → Claude' },
  reason: 'coding question, moderate complexity',
  classification: { taskType: 'coding', complexity: 'moderate', domain: 'software', confidence: 0.43, capabilities: { tools: true, vision: false, minContextWindow: 12000 } },
  fallbacksTried: [],
})!;
const paragraph = 'Start with a function that walks the list and keeps a running total of the values, then **return** it. ';
const answer = (bytes: number) => paragraph.repeat(Math.ceil(bytes / paragraph.length)).slice(0, bytes);
const line = { plain: '\n\n— anthropic/claude-sonnet-5-5 · rule “Coding → Claude”', html: '<p><sub>— anthropic/claude-sonnet-5-5</sub></p>' };

console.log(`content limit ${MAX_CONTENT_BYTES} bytes; largest envelope the spec allows ${largestEnvelopeBytes()} bytes`);
for (const size of [1_000, 8_000]) {
  const edit = editContent('$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', partContent(answer(size), null, { line, fields: { 'mosaic.routing': routing } }), { 'mosaic.routing': routing });
  time(`JSON.stringify, final edit of a ${size}-byte answer`, 2000, () => JSON.stringify(edit));
  time(`encodeCanonicalJson, final edit of a ${size}-byte answer`, 2000, () => encodeCanonicalJson(edit));
}
for (const size of [20_000, 100_000]) {
  time(`splitParts, a ${size}-byte answer (${splitParts(answer(size), { line }, null).length} parts)`, 20, () => splitParts(answer(size), { line }, null));
}
