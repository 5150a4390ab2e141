/* eslint-disable no-control-regex -- the screen is read with its escape sequences */
/**
 * `mosaic tui` in a real pseudo-terminal (tmux) against the real gateway
 * (PostgreSQL, Valkey, the provider simulators): the acceptance criteria
 * read from the screen (AC-1 resume after a restart of the client, AC-4
 * /model, AC-5 /agent, AC-10 the routing footer), messages from another
 * surface arriving live, stopping answers, a server restart, resizing,
 * NO_COLOR, and the terminal handed back intact. Every wait is for a
 * condition on the screen or in the simulators' request logs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';
import { freePort } from '../support/processes.ts';
import { waitFor } from '../live/support.ts';
import { lastUserText } from '../simulators/index.ts';
import { clientHome, runClient, type ClientHome } from './support.ts';
import { killTmuxServer, TuiSession } from './tmux.ts';

let m: TestMosaic;
let token: string;
let home: ClientHome;
const sessions: TuiSession[] = [];
const PASSWORD = 'a long enough password';

/** The last user message of a model request, in the Chat Completions, Ollama or Responses shape. */
function lastUser(body: unknown): string {
  const b = body as { messages?: unknown; input?: unknown };
  if (b.messages) return lastUserText(b.messages);
  const input = (typeof b.input === 'string' ? [{ role: 'user', content: b.input }] : Array.isArray(b.input) ? b.input : []) as Array<{ role?: string; content?: unknown }>;
  const text = (c: unknown) => (typeof c === 'string' ? c : Array.isArray(c) ? c.map((p: { text?: string }) => p.text ?? '').join('\n') : '');
  return lastUserText(input.filter((i) => i.role === 'user').map((i) => ({ role: 'user', content: text(i.content) })));
}

const chatRequests = () => Object.values(m.simulators).flatMap((s) => s.chatRequests());
/** The model request that answered `text`: the largest one that mentions it (a classifier's request carries less). */
const requestWith = (text: string) =>
  chatRequests()
    .filter((r) => JSON.stringify(r.body).includes(text))
    .sort((a, b) => JSON.stringify(b.body).length - JSON.stringify(a.body).length)[0];
const toolNames = (body: unknown) => [...JSON.stringify(body).matchAll(/"name":"(memory_[a-z]+)"/g)].map((x) => x[1]).sort();

async function tui(args: string[] = [], options: { env?: Record<string, string>; cols?: number; rows?: number } = {}): Promise<TuiSession> {
  const s = await TuiSession.start(['tui', ...args], { env: { ...home.env, ...options.env }, ...(options.cols ? { cols: options.cols } : {}), ...(options.rows ? { rows: options.rows } : {}) });
  sessions.push(s);
  await s.waitForText('● online', 60_000);
  return s;
}

async function send(s: TuiSession, text: string): Promise<void> {
  await s.type(text);
  await s.waitForText(`› ${text}`);
  await s.press('Enter');
}

/** The footer of the newest answer on screen, its wrapped lines joined. */
function lastFooter(screen: string): string {
  const lines = screen.split('\n');
  const start = lines.map((l) => l.trim().startsWith('╰ model:')).lastIndexOf(true);
  if (start < 0) return '';
  const out = [lines[start]!.trim()];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith('    ') || !l.trim()) break;
    out.push(l.trim());
  }
  return out.join(' ').replace(/^╰ /, '');
}

beforeAll(async () => {
  // A fixed port: the restart test brings the gateway back where the client left it.
  m = await startTestMosaic({ providers: ['ollama', 'openai'], config: { http: { port: await freePort() }, conversations: { deltaIntervalMs: 20 } } });
  token = (await m.core.accounts.createUser({ username: 'mia', password: PASSWORD })).token;
  for (const sim of Object.values(m.simulators))
    sim.setDefault((req) => (lastUser(req.body).includes('long story') ? { text: 'word '.repeat(600), chunkSize: 5, frameDelayMs: 40 } : { chunkSize: 4, frameDelayMs: 5 }));
  home = clientHome();
}, 120_000);

afterAll(async () => {
  await killTmuxServer();
  await m?.stop();
});

describe('mosaic tui in a terminal', () => {
  let conversationId = '';

  it('signs in through the prompts without echoing the password', async () => {
    const s = await TuiSession.start(['login', '--server', m.url], { env: home.env });
    sessions.push(s);
    await s.waitForText('Username:');
    await s.type('mia');
    await s.press('Enter');
    await s.waitForText('Password:');
    await s.type(PASSWORD);
    await s.press('Enter');
    const screen = await s.waitForText('EXITED:0');
    expect(screen).toContain(`signed in to ${m.url} as mia`);
    expect(screen).not.toContain(PASSWORD);
  }, 90_000);

  it('AC-1 and AC-10: two messages, each answer with its footer; quit; start again: the history is on screen and the next model request carries all of it', async () => {
    const s = await tui();
    await send(s, 'My first message');
    await s.waitForText('Echo: My first message');
    await send(s, 'My second message');
    await s.waitForText('Echo: My second message');
    const screen = await s.waitFor('two footers', (x) => (x.match(/╰ model:/g) ?? []).length >= 2);
    // AC-10: the footer names the model, provider, rule and routing reason the server stored.
    const convs = await m.api<{ items: Array<{ id: string }> }>(token, 'GET', '/api/conversations');
    conversationId = convs.body.items[0]!.id;
    const { body } = await m.api<{ items: Array<{ role: string; provider: string; model: string; routing: { reason: string; rule: { name: string } | null }; usage: { inputTokens: number; outputTokens: number } }> }>(token, 'GET', `/api/conversations/${conversationId}/messages`);
    const reply = body.items.filter((x) => x.role === 'assistant').at(-1)!;
    const footer = lastFooter(screen);
    expect(footer).toContain(`model: ${reply.model} · provider: ${reply.provider} · rule: ${reply.routing.rule?.name ?? 'none'}`);
    expect(footer).toContain(`why: ${reply.routing.reason}`);
    expect(footer).toContain(`tokens: ${reply.usage.inputTokens} in / ${reply.usage.outputTokens} out · cost: `);
    // Quit: the terminal is handed back (no alternate screen) and the exit code is 0.
    await s.press('C-d');
    const after = await s.waitForText('EXITED:0');
    expect(after).toContain(`(${conversationId})`);
    expect(await s.alternateScreen()).toBe(false);

    const again = await tui();
    await again.waitForText('Echo: My second message');
    const reopened = await again.screen();
    expect(reopened).toContain('My first message');
    expect(reopened).toContain('Echo: My first message');
    await send(again, 'My third message');
    await again.waitForText('Echo: My third message');
    const request = JSON.stringify(requestWith('My third message')!.body);
    for (const part of ['My first message', 'Echo: My first message', 'My second message', 'Echo: My second message', 'My third message']) expect(request).toContain(part);
  }, 180_000);

  it('AC-4: /model <name> (completed with Tab) pins the model: the status line shows it and the next answers come from it', async () => {
    const s = sessions.at(-1)!;
    const { body } = await m.api<{ models: Array<{ provider: string; id: string }> }>(token, 'GET', '/api/providers/models?available=true');
    const info = await m.api<{ provider: string; model: string }>(token, 'GET', `/api/conversations/${conversationId}/session`);
    // Another model of the provider that answered so far (its simulator's log then tells them apart).
    const target = body.models.find((x) => x.provider === info.body.provider && x.id !== info.body.model)!;
    expect(target, JSON.stringify(body.models)).toBeTruthy();
    const name = `${target.provider}/${target.id}`;
    // The completion offers the models whose names start with what was typed, in the API's order.
    const typed = name.slice(0, -1);
    const offered = ['auto', ...body.models.map((x) => `${x.provider}/${x.id}`)].filter((id) => id.startsWith(typed) && id !== typed);
    await s.type(`/model ${typed}`);
    await s.waitForText(`/model ${name}`);
    for (let i = 0; i < offered.indexOf(name); i++) await s.press('Down');
    await s.press('Tab');
    // The completion taken: the input holds the full name and the list is gone.
    const offeredRow = new RegExp(`^ /model ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +model`, 'm');
    await s.waitFor('the completion taken', (x) => x.includes(`› /model ${name}`) && !offeredRow.test(x));
    await s.press('Enter');
    await s.waitForText(`model: ${target.id} (pinned)`);
    await s.waitForText('Model pinned');
    const sim = m.simulators[target.provider as keyof typeof m.simulators];
    const before = sim.chatRequests().length;
    await send(s, 'Which model now?');
    await s.waitForText('Echo: Which model now?');
    await waitFor('the request at the pinned model', () => sim.chatRequests().length > before);
    const answered = requestWith('Which model now?')!;
    expect(sim.chatRequests()).toContain(answered);
    expect((answered.body as { model: string }).model).toBe(target.id);
    await s.waitFor('the footer of the pinned model', (x) => lastFooter(x).includes(`model: ${target.id} · provider: ${target.provider}`));
    await send(s, '/model auto');
    await s.waitForText('model: auto');
  }, 120_000);

  it('AC-5: /agent coding-agent: the next request carries its system prompt and its tools', async () => {
    const prompt = 'You are the coding agent: answer with code first.';
    const created = await m.api(token, 'POST', '/api/agents', { name: 'coding-agent', displayName: 'Coding Agent', systemPrompt: prompt, tools: ['memory_search', 'memory_get'] });
    expect(created.status).toBe(201);
    const s = sessions.at(-1)!;
    const before = requestWith('My third message')!.body;
    expect(toolNames(before)).toEqual(['memory_get', 'memory_save', 'memory_search']);
    await send(s, '/agent coding-agent');
    await s.waitForText('agent: Coding Agent');
    await send(s, 'Write a function');
    await s.waitForText('Echo: Write a function');
    const request = JSON.stringify(requestWith('Write a function')!.body);
    expect(request).toContain(prompt);
    expect(JSON.stringify(before)).not.toContain(prompt);
    expect(toolNames(requestWith('Write a function')!.body)).toEqual(['memory_get', 'memory_search']);
  }, 120_000);

  it('a message posted over REST (another surface) appears on the screen with its answer, without input', async () => {
    const s = sessions.at(-1)!;
    const posted = await m.api(token, 'POST', `/api/conversations/${conversationId}/messages`, { content: 'Posted by a script' });
    expect(posted.status).toBe(202);
    await s.waitForText('Echo: Posted by a script');
    expect(await s.screen()).toMatch(/you · \d\d:\d\d · via api\n {2}Posted by a script/);
  }, 60_000);

  it('/stop ends a long answer; so do Esc and Ctrl-C', async () => {
    const s = sessions.at(-1)!;
    for (const how of ['/stop', 'Escape', 'C-c']) {
      await send(s, `tell a long story (${how})`);
      await s.waitForText('writing with');
      await s.waitForText('word word word');
      if (how === '/stop') await send(s, '/stop');
      else await s.press(how);
      await s.waitFor('the answer stopped', (x) => !x.includes('writing with') && x.includes('Answer stopped.'));
    }
    // The screen shows the stop from the live event; the stopped answer's row may commit a moment later.
    // A stop can land before the new answer's first words (the screen already shows the earlier answers' words): counted by the stored mark, not the text.
    const stoppedAnswers = async () => (await m.api<{ items: Array<{ role: string; content: string; metadata: { stopped?: boolean } | null }> }>(token, 'GET', `/api/conversations/${conversationId}/messages?limit=500`)).body.items.filter((x) => x.role === 'assistant' && x.metadata?.stopped === true);
    await waitFor('three stopped answers stored', async () => ((await stoppedAnswers()).length >= 3) || null, 30_000);
    const stopped = await stoppedAnswers();
    expect(stopped).toHaveLength(3);
    for (const r of stopped) {
      expect(r.content).toMatch(/_Stopped\._$/);
      expect(r.content.length).toBeLessThan('word '.repeat(600).length);
    }
  }, 180_000);

  it('survives a server restart: reconnects by itself, shows what was posted meanwhile, and goes on', async () => {
    const s = sessions.at(-1)!;
    await m.running.stop();
    await s.waitFor('the client to notice', (x) => /reconnecting…/.test(x), 30_000);
    // restart() stops (already done: stop runs once) and boots again on the same port, database and Valkey.
    await m.restart();
    await waitFor('the gateway back', async () => (await fetch(`${m.url}/healthz`).then((r) => r.ok).catch(() => false)) || null, 60_000);
    await s.waitForText('● online', 60_000);
    await m.api(token, 'POST', `/api/conversations/${conversationId}/messages`, { content: 'Posted after the restart' });
    await s.waitForText('Echo: Posted after the restart');
    await send(s, 'Still there?');
    await s.waitForText('Echo: Still there?');
    const screen = await s.screen();
    expect(screen.match(/Posted after the restart/g)?.length).toBe(2);
  }, 180_000);

  it('redraws on resize (80×24 and larger): the status line fits, the newest message stays in view', async () => {
    const s = sessions.at(-1)!;
    await s.resize(80, 24);
    const small = await s.waitFor('the 80-column redraw', (x) => x.split('\n')[0]!.length <= 80 && x.split('\n').length <= 25 && x.includes('Echo: Still there?'));
    expect(small.split('\n')[0]).toContain('● online');
    await s.resize(140, 40);
    await s.waitFor('the 140-column redraw', (x) => x.split('\n')[0]!.trimEnd().length > 80 && x.includes('Echo: Still there?'));
  }, 60_000);

  it('respects NO_COLOR: attributes, no colours', async () => {
    const coloured = sessions.at(-1)!;
    expect(await coloured.screen(true)).toMatch(/\x1b\[(3[0-7]|9[0-7]|38;)/);
    const plain = await tui(['--conversation', conversationId], { env: { NO_COLOR: '1' } });
    await plain.waitForText('Echo: Still there?');
    const screen = await plain.screen(true);
    expect(screen).not.toMatch(/\x1b\[(3[0-7]|9[0-7]|38;)/);
    expect(screen).toMatch(/\x1b\[[0-9;]*7m/);
    await plain.press('C-d');
    await plain.waitForText('EXITED:0');
  }, 90_000);

  it('hands the terminal back when killed (SIGTERM) or hung up on (SIGHUP)', async () => {
    for (const [signal, code] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
      const s = await tui(['--conversation', conversationId]);
      process.kill(await s.programPid(), signal);
      await s.waitForText(`EXITED:${code}`);
      expect(await s.alternateScreen()).toBe(false);
      expect(await s.screen()).not.toContain('● online');
    }
  }, 120_000);

  it('the conversation list: newest first, a new one, archive and the archived list, search opens the conversation found', async () => {
    await m.api(token, 'POST', '/api/conversations', { title: 'Another conversation' });
    const s = await tui(['--conversation', conversationId]);
    await s.press('C-o');
    await s.waitForText('Another conversation');
    const listed = await m.api<{ items: Array<{ id: string; title: string }> }>(token, 'GET', '/api/conversations?archived=false');
    const titles = listed.body.items.map((c) => c.title);
    expect(titles[0]).toBe('Another conversation');
    const screen = await s.screen();
    // Newest first, as the API lists them.
    expect(screen.indexOf('Another conversation')).toBeLessThan(screen.indexOf(titles[1]!));
    await s.type('n');
    await s.waitFor('a new, empty conversation', (x) => x.includes('No messages yet') && x.includes('● online'));
    await send(s, 'A note to archive');
    await s.waitForText('Echo: A note to archive');
    await s.press('C-o');
    await s.waitForText('▸ A note to archive');
    await s.type('a');
    await s.waitFor('it left the active list', (x) => !x.includes('A note to archive'));
    await s.press('Tab');
    await s.waitFor('the archived list', (x) => x.includes('Archived conversations') && x.includes('A note to archive'));
    expect((await m.api<{ items: Array<{ title: string }> }>(token, 'GET', '/api/conversations?archived=true')).body.items.map((c) => c.title)).toContain('A note to archive');
    await s.press('Tab');
    await s.waitForText('Conversations │');
    await s.type('/');
    await s.waitForText('search:');
    await s.type('Posted by a script');
    await s.press('Enter');
    await s.waitFor('the hit', (x) => /Posted by a script/.test(x.split('\n').slice(1).join('\n')) && !x.includes('search:'));
    await s.press('Enter');
    await s.waitFor('the conversation found, open', (x) => x.includes('Echo: Still there?') && !x.includes('Conversations │'));
    await s.press('C-d');
    await s.waitForText('EXITED:0');
  }, 120_000);

  it('plain mode and the TUI share the last conversation: chat --continue goes on where the TUI was', async () => {
    const r = await runClient(['chat', '--continue', 'From a pipe'], { env: home.env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Echo: From a pipe');
    const msgs = await m.api<{ items: Array<{ content: string }> }>(token, 'GET', `/api/conversations/${conversationId}/messages?limit=500`);
    expect(msgs.body.items.some((x) => x.content === 'From a pipe')).toBe(true);
  }, 60_000);
});
