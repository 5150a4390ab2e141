/**
 * Recovery time after a crash: Mosaic is SIGKILLed while it streams an
 * answer, started again, and the time until the answer is stored is
 * measured — from the kill (what a person waits, process start included)
 * and from the moment the restarted process listens (what recovery itself
 * costs). The goal is under 5 s from listening.
 *
 *   node bin/run-ts.js bench/recovery.ts [runs]
 *
 * Runs on its own redis-server, PostgreSQL and model process (the fault
 * suite's environment, test/faults/support.ts); never the shared ones.
 */
import { FaultEnv, sleep, until } from '../test/faults/support.ts';

const runs = Number(process.argv[2] ?? 3);
const env = await FaultEnv.create();
const fromKill: number[] = [];
const fromListening: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const conv = await env.conversation();
    const label = `Bench run ${i}:`;
    const sent = await env.send(conv, `${label} ${'a long answer please '.repeat(12)}`);
    if (sent.status !== 202) throw new Error(`the message was not accepted (${sent.status})`);
    await until('the model to stream', () => env.model.chats().some((c) => c.includes(label)));
    await sleep(300);
    await env.crash();
    const killedAt = Date.now();
    await env.startMosaic();
    const listeningAt = Date.now();
    for (;;) {
      const rows = await env.rows(conv);
      if (FaultEnv.answersTo(rows, sent.messageId!).length) break;
      await sleep(50);
    }
    const answeredAt = Date.now();
    fromKill.push(answeredAt - killedAt);
    fromListening.push(answeredAt - listeningAt);
    console.log(`run ${i + 1}: answer stored ${answeredAt - listeningAt} ms after the restart listened (${answeredAt - killedAt} ms after the kill)`);
  }
} finally {
  await env.close();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`recovery after SIGKILL mid-stream (${runs} runs): median ${median(fromListening)} ms after listening (worst ${Math.max(...fromListening)} ms); median ${median(fromKill)} ms after the kill, process start included`);
