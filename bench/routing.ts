/**
 * Routing decisions per second and latency, with the seeded default rules
 * alone and with 100 rules: the default rules (read from a freshly migrated
 * embedded database) plus user rules that look like real ones, over the
 * labeled messages. Prints figures; asserts nothing. Besides wall-clock
 * decisions/s it prints decisions per CPU-second of this process (the
 * figure per core, less disturbed by other work on a shared machine).
 * Target (issue #21): ≥ 40,000 decisions/s per core with 100 rules.
 */
import { loadavg } from 'node:os';
import { openMemoryDatabase } from '../src/db/client.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { PROVIDER_NAMES, type ProviderName } from '../src/providers/types.ts';
import { catalogueDirectory } from '../src/routing/catalogue-directory.ts';
import { ClassifierService } from '../src/routing/classifier-service.ts';
import { compileRuleSet } from '../src/routing/rule-matcher.ts';
import type { RoutingRule } from '../src/routing/rule-schema.ts';
import { RuleStore } from '../src/routing/rule-store.ts';
import { Router } from '../src/routing/router.ts';
import { COMPLEXITIES, TASK_TYPES, type ProviderAvailability, type RoutingInput } from '../src/routing/types.ts';
import { LABELED_MESSAGES } from '../test/routing/labeled-messages.ts';

const RULES = 100;
const WARMUP = 5_000;
const DECISIONS = 100_000;

const database = await openMemoryDatabase();
await runMigrations(database);
const seeded = await new RuleStore(database.db).rulesFor(null);
await database.close();

// User rules that mostly do not match, so every decision walks most of the list, as a worst case would.
const models: Array<[ProviderName, string]> = [['openai', 'gpt-6-sol'], ['anthropic', 'claude-sonnet-5-5'], ['zai', 'glm-4.6'], ['ollama', 'llama3.2']];
const userRules: RoutingRule[] = Array.from({ length: RULES - seeded.systemRules.length }, (_, i) => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  name: `user rule ${i}`,
  description: '',
  priority: 10 + i,
  enabled: true,
  ownerId: 'bench-user',
  conditions: [
    { type: 'taskType', value: [TASK_TYPES[i % 8]!, TASK_TYPES[(i + 3) % 8]!] },
    { type: 'complexity', value: [COMPLEXITIES[i % 3]!] },
    i % 2 ? { type: 'channel', value: ['web', `chan-${i}`] } : { type: 'agent', value: [`agent-${i}`] },
    { type: 'domain', value: ['finance', `domain-${i}`] },
  ],
  action: { routeTo: { provider: models[i % 4]![0], model: models[i % 4]![1] } },
  fallbacks: [{ provider: models[(i + 1) % 4]![0], model: models[(i + 1) % 4]![1] }],
}));
const defaultRules = compileRuleSet({ userRules: [], systemRules: seeded.systemRules });
const hundredRules = compileRuleSet({ userRules, systemRules: seeded.systemRules });
let rules = hundredRules;

const down = new Set<ProviderName>();
const availability: ProviderAvailability = { isHealthy: (p) => !down.has(p), hasCredential: () => true, isLocal: (p) => p === 'ollama' };
const classifier = new ClassifierService({ config: { enabled: false, belowConfidence: 0.5, timeoutMs: 1000 } });
const router = new Router({ directory: catalogueDirectory(), availability, classifier, fallbackChain: [{ provider: 'anthropic', model: 'claude-sonnet-5-5' }, { provider: 'ollama', model: 'llama3.2' }] });

// The huge pasted inputs of the labeled set are kept: they are part of real traffic.
const inputs: RoutingInput[] = LABELED_MESSAGES.map((m, i) => ({ userId: 'bench-user', text: m.text, channel: i % 3 ? 'matrix' : 'tui', ...(m.attachments ? { attachments: m.attachments } : {}) }));

async function run(label: string): Promise<void> {
  for (let i = 0; i < WARMUP; i++) await router.decide(inputs[i % inputs.length]!, rules);
  // Throughput without a timer per decision (reading the clock twice per decision costs about as much as a small decision).
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < DECISIONS; i++) await router.decide(inputs[i % inputs.length]!, rules);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  // Latency: a second pass, each decision timed.
  const latencies = new Float64Array(DECISIONS);
  for (let i = 0; i < DECISIONS; i++) {
    const t0 = process.hrtime.bigint();
    await router.decide(inputs[i % inputs.length]!, rules);
    latencies[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  latencies.sort();
  const pct = (p: number) => latencies[Math.min(DECISIONS - 1, Math.floor((p / 100) * DECISIONS))]!.toFixed(1);
  const rate = (n: number) => Math.round(n).toLocaleString('en-US').padStart(9);
  console.log(`${label.padEnd(47)} ${rate(DECISIONS / seconds)} decisions/s ${rate(DECISIONS / cpuSeconds)} per CPU-second   p50 ${pct(50)} µs   p99 ${pct(99)} µs   max ${latencies[DECISIONS - 1]!.toFixed(0)} µs`);
}

console.log(`routing: ${seeded.systemRules.length} seeded system rules, then 100 rules; ${inputs.length} distinct messages, ${DECISIONS.toLocaleString('en-US')} decisions per line, one core (node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
for (const [name, set] of [['default rules', defaultRules], ['100 rules', hundredRules]] as const) {
  rules = set;
  await run(`${name}, all providers healthy`);
  down.add('anthropic');
  await run(`${name}, anthropic down (fallbacks walked)`);
  down.clear();
  for (const p of PROVIDER_NAMES) if (p !== 'ollama') down.add(p);
  await run(`${name}, only ollama up`);
  down.clear();
}
