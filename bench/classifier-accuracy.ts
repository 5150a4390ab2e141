/**
 * The deterministic classifier's accuracy on the labeled sets: the set it
 * was tuned on and a held-out set written afterwards. Prints figures and
 * the misses; asserts nothing (the floors live in test/routing/classifier.test.ts).
 */
import { classifyMessage } from '../src/routing/classifier.ts';
import { TASK_TYPES } from '../src/routing/types.ts';
import { LABELED_MESSAGES, type LabeledMessage } from '../test/routing/labeled-messages.ts';
import { HOLDOUT_MESSAGES } from '../test/routing/holdout-messages.ts';

const pct = (n: number, d: number) => `${((100 * n) / d).toFixed(1)} %`;

function report(name: string, set: LabeledMessage[]): void {
  let task = 0;
  let complexity = 0;
  let both = 0;
  const perType = new Map<string, { n: number; ok: number }>(TASK_TYPES.map((t) => [t, { n: 0, ok: 0 }]));
  const misses: string[] = [];
  for (const m of set) {
    const c = classifyMessage({ text: m.text, ...(m.attachments ? { attachments: m.attachments } : {}) });
    const okTask = c.taskType === m.taskType;
    const okComplexity = c.complexity === m.complexity;
    task += okTask ? 1 : 0;
    complexity += okComplexity ? 1 : 0;
    both += okTask && okComplexity ? 1 : 0;
    const t = perType.get(m.taskType)!;
    t.n += 1;
    t.ok += okTask ? 1 : 0;
    if (!okTask) misses.push(`  task ${m.taskType} → ${c.taskType} (conf ${c.confidence.toFixed(2)}): ${m.text.slice(0, 70).replace(/\s+/g, ' ')}`);
  }
  console.log(`${name}: ${set.length} messages — task type ${pct(task, set.length)}, complexity ${pct(complexity, set.length)}, both ${pct(both, set.length)}`);
  console.log(`  per task type: ${[...perType].filter(([, v]) => v.n > 0).map(([k, v]) => `${k} ${v.ok}/${v.n}`).join(', ')}`);
  for (const line of misses) console.log(line);
}

report('labeled set (tuned on)', LABELED_MESSAGES);
report('held-out set (never tuned on)', HOLDOUT_MESSAGES);
