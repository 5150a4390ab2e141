/**
 * `mosaic tui`: the full-screen client. Wires the terminal, the state, the
 * socket and the keys: chat view (the default, reopening the last
 * conversation) and the conversation list (Ctrl-O). Talks to Mosaic only
 * through REST and the socket.
 */
import { RestClient } from '../api.ts';
import { lastConversation, readHistory, rememberConversation, writeHistory } from '../config.ts';
import { describe } from '../errors.ts';
import { LiveClient } from '../live.ts';
import type { Conversation } from '../types.ts';
import { LineEditor } from './editor.ts';
import { ChatState } from './state.ts';
import { Terminal, type Key } from './terminal.ts';
import { drawChat, drawList, loadMarkdown, type ChatUi, type ListUi } from './view.ts';

export interface TuiOptions {
  server: string;
  token: string;
  conversationId?: string;
  newConversation?: boolean;
}

/** The shared commands (every surface has them) and the terminal's own. */
export const COMMANDS: Array<{ value: string; hint: string }> = [
  { value: '/model', hint: 'show or pin the model (/model auto: routing)' },
  { value: '/agent', hint: 'show or switch the agent (/agent list)' },
  { value: '/agent new', hint: '<name> --model <provider/model> --prompt "…"' },
  { value: '/history', hint: 'messages, summary, context in use' },
  { value: '/why', hint: "the last answer's routing receipt in full" },
  { value: '/new', hint: 'start a new conversation [title]' },
  { value: '/title', hint: 'rename this conversation' },
  { value: '/search', hint: 'search all your conversations' },
  { value: '/usage', hint: 'tokens and cost; your budget' },
  { value: '/budget', hint: 'show or set your monthly budget' },
  { value: '/stop', hint: 'stop the answer being written' },
  { value: '/help', hint: 'every command' },
  { value: '/list', hint: 'the conversation list (Ctrl-O)' },
  { value: '/quit', hint: 'leave (Ctrl-D)' },
];

const KEYS_HELP = 'Keys: Enter sends · Alt-Enter or Ctrl-J new line · ↑/↓ history · Tab completes · Esc/Ctrl-C stops an answer · PgUp/PgDn scroll · Ctrl-T thinking · Ctrl-O conversations · Ctrl-L redraw · Ctrl-D quits';

export async function runTui(o: TuiOptions): Promise<number> {
  const rest = new RestClient(o.server, o.token);
  const terminal = new Terminal();
  // The state is made below, after the socket it listens to; the socket reports its status to it once running.
  const live = new LiveClient(o.server, o.token, { persistent: true, onStatus: (s, detail) => state.setConnection(s, detail) });
  const history = readHistory();
  const ui: ChatUi = { editor: new LineEditor(history), completion: null, scroll: 0, showThinking: false, hint: null };
  let view: 'chat' | 'list' = 'chat';
  const list: ListUi = { items: [], archived: false, selected: 0, search: null, error: null };
  let models: string[] = [];
  let agents: string[] = [];
  let pasting = false;
  let maxScroll = 0;
  let pending: NodeJS.Timeout | null = null;
  let quitting: ((code: number) => void) | null = null;

  const draw = () => {
    pending = null;
    const frame = view === 'chat' ? drawChat(state, ui, terminal.cols, terminal.rows) : drawList(list, state.conversation?.id ?? null, terminal.cols, terminal.rows);
    maxScroll = frame.maxScroll;
    terminal.draw(frame.lines, frame.cursor);
  };
  const schedule = () => {
    if (!pending) pending = setTimeout(draw, 16);
  };
  const state = new ChatState(rest, live, schedule);

  const open = async (id: string) => {
    await state.open(id);
    ui.scroll = 0;
    rememberConversation(o.server, id);
  };

  const fail = (err: unknown) => state.notify(describe(err), 'error');

  const loadList = async () => {
    try {
      list.items = (await rest.get<{ items: Conversation[] }>(`/api/conversations?limit=200&archived=${list.archived}`)).items;
      list.selected = Math.max(0, Math.min(list.selected, list.items.length - 1));
      list.error = null;
    } catch (err) {
      list.error = describe(err);
    }
    schedule();
  };

  const updateCompletion = () => {
    const text = ui.editor.text;
    if (!text.startsWith('/') || text.includes('\n')) return (ui.completion = null);
    let items: Array<{ value: string; hint: string }>;
    const arg = /^\/(model|agent) (.*)$/.exec(text);
    if (arg) {
      const pool = arg[1] === 'model' ? ['auto', ...models] : ['list', 'new', ...agents];
      items = pool.filter((v) => v.startsWith(arg[2]!) && v !== arg[2]).map((v) => ({ value: `/${arg[1]} ${v}`, hint: arg[1] === 'model' ? 'model' : 'agent' }));
    } else if (!text.includes(' ') || text.startsWith('/agent n')) items = COMMANDS.filter((c) => c.value.startsWith(text) && c.value !== text);
    else items = [];
    ui.completion = items.length ? { items, selected: 0 } : null;
    return ui.completion;
  };

  const accept = () => {
    const c = ui.completion;
    if (!c) return false;
    ui.editor.set(`${c.items[c.selected]!.value} `);
    ui.completion = null;
    updateCompletion();
    return true;
  };

  const stop = () => {
    const id = state.conversation?.id;
    if (!id) return;
    live.request({ type: 'stop', conversationId: id }).catch(() => rest.post(`/api/conversations/${id}/messages`, { content: '/stop' }).catch(fail));
    ui.hint = 'Stopping the answer…';
  };

  let sent = 0;
  const send = async (text: string) => {
    const trimmed = text.trim();
    if (!trimmed) return;
    if (trimmed === '/quit' || trimmed === '/exit') return quit(0);
    if (trimmed === '/list') return showList();
    // Typed before the conversation finished loading (a fast typist, a script): it goes out once it is open.
    await opening.catch(() => undefined);
    const id = state.conversation?.id;
    if (!id) return state.notify('No conversation is open: Ctrl-O lists them, n starts one.', 'error');
    const clientMessageId = `tui-${Date.now().toString(36)}-${(sent++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    ui.scroll = 0;
    try {
      const result = live.status === 'open' ? await live.request({ type: 'send', conversationId: id, content: text, clientMessageId }) : await rest.post<Record<string, unknown>>(`/api/conversations/${id}/messages`, { content: text, clientMessageId });
      const command = result.command as { name: string; text: string; data?: { id?: string } | null } | null;
      // A command's answer is stored as a system message and arrives live like any other; /help gets the keys too.
      if (!command) return;
      if (command.name === 'help') state.notify(KEYS_HELP);
      if (command.name === 'new' && command.data?.id) await open(command.data.id);
      else if (['model', 'agent', 'title', 'budget'].includes(command.name)) {
        await state.refreshSession();
        if (command.name === 'budget') await state.refreshBudget();
        if (command.name === 'agent') void loadPickers();
      }
    } catch (err) {
      fail(err);
    }
  };

  const loadPickers = async () => {
    try {
      const [m, a] = await Promise.all([rest.get<{ models: Array<{ provider: string; id: string }> }>('/api/providers/models?available=true'), rest.get<{ items: Array<{ name: string }> }>('/api/agents')]);
      // provider/model: the form /model always understands, whatever names two providers share.
      models = m.models.map((x) => `${x.provider}/${x.id}`);
      agents = a.items.map((x) => x.name);
    } catch {
      // Completion of names only; the commands work without it.
    }
  };

  const showList = () => {
    view = 'list';
    list.search = null;
    const i = list.items.findIndex((c) => c.id === state.conversation?.id);
    if (i >= 0) list.selected = i;
    void loadList();
    schedule();
  };

  const quit = (code: number) => {
    quitting?.(code);
  };

  const chatKey = (s: string | undefined, key: Key) => {
    ui.hint = null;
    const name = key.name;
    if (name === 'paste-start') return void (pasting = true);
    if (name === 'paste-end') return void (pasting = false);
    if (pasting) {
      ui.editor.insert(name === 'return' || name === 'enter' ? '\n' : (s ?? ''));
      return;
    }
    if (key.ctrl && name === 'd') return quit(0);
    if (key.ctrl && name === 'c') {
      if (state.streaming) return stop();
      if (ui.editor.text) return void ui.editor.set('');
      ui.hint = 'Ctrl-D quits';
      return;
    }
    if (name === 'escape') {
      if (ui.completion) return void (ui.completion = null);
      if (state.streaming) return stop();
      return;
    }
    if (key.ctrl && name === 'o') return showList();
    if (key.ctrl && name === 't') return void (ui.showThinking = !ui.showThinking);
    if (key.ctrl && name === 'l') return terminal.invalidate();
    if (name === 'pageup') return void (ui.scroll = Math.min(maxScroll, ui.scroll + Math.max(1, terminal.rows - 6)));
    if (name === 'pagedown') return void (ui.scroll = Math.max(0, ui.scroll - Math.max(1, terminal.rows - 6)));
    if (name === 'tab') return void accept();
    if ((name === 'up' || name === 'down') && ui.completion) {
      const c = ui.completion;
      c.selected = (c.selected + (name === 'up' ? -1 : 1) + c.items.length) % c.items.length;
      return;
    }
    if (name === 'return' && key.meta) ui.editor.insert('\n');
    else if (name === 'enter' || (key.ctrl && name === 'j')) ui.editor.insert('\n');
    else if (name === 'return') {
      const c = ui.completion;
      // "/mo" + Enter takes the completion "/model" rather than sending an unknown command.
      if (c && c.items[c.selected]!.value.startsWith(ui.editor.text.trim()) && !ui.editor.text.endsWith(' ')) return void accept();
      ui.completion = null;
      void send(ui.editor.take());
      writeHistory(ui.editor.history);
      return;
    } else if (name === 'backspace') ui.editor.backspace();
    else if (name === 'delete') ui.editor.del();
    else if (name === 'left' && (key.meta || key.ctrl)) ui.editor.wordLeft();
    else if (name === 'left') ui.editor.left();
    else if (name === 'right' && (key.meta || key.ctrl)) ui.editor.wordRight();
    else if (name === 'right') ui.editor.right();
    else if (key.meta && name === 'b') ui.editor.wordLeft();
    else if (key.meta && name === 'f') ui.editor.wordRight();
    else if (name === 'home' || (key.ctrl && name === 'a')) ui.editor.home();
    else if (name === 'end' || (key.ctrl && name === 'e')) ui.editor.end();
    else if (key.ctrl && name === 'k') ui.editor.killToEnd();
    else if (key.ctrl && name === 'u') ui.editor.killToStart();
    else if (key.ctrl && name === 'w') ui.editor.deleteWord();
    else if (name === 'up') ui.editor.up();
    else if (name === 'down') ui.editor.down();
    else if (s && !key.ctrl && !key.meta && s >= ' ') ui.editor.insert(s);
    else return;
    updateCompletion();
  };

  const listKey = (s: string | undefined, key: Key) => {
    const name = key.name;
    if (key.ctrl && (name === 'd' || name === 'c')) return quit(0);
    const search = list.search;
    if (search && search.hits === null) {
      if (name === 'escape') list.search = null;
      else if (name === 'return') {
        const q = search.query.trim();
        if (!q) return void (list.search = null);
        rest
          .get<{ hits: NonNullable<NonNullable<ListUi['search']>['hits']> }>(`/api/conversations/search?q=${encodeURIComponent(q)}`)
          .then((r) => {
            if (list.search === search) {
              search.hits = r.hits;
              list.selected = 0;
            }
            schedule();
          })
          .catch((err: unknown) => ((list.error = describe(err)), schedule()));
      } else if (name === 'backspace') search.query = search.query.slice(0, -1);
      else if (s && !key.ctrl && !key.meta && s >= ' ') search.query += s;
      return;
    }
    const count = search?.hits ? search.hits.length : list.items.length;
    if (name === 'escape') {
      if (search) list.search = null;
      else view = 'chat';
    } else if (name === 'up') list.selected = Math.max(0, list.selected - 1);
    else if (name === 'down') list.selected = Math.min(Math.max(0, count - 1), list.selected + 1);
    else if (name === 'return') {
      const id = search?.hits ? search.hits[list.selected]?.conversationId : list.items[list.selected]?.id;
      if (!id) return;
      view = 'chat';
      open(id).catch(fail);
    } else if (search) return;
    else if (s === 'n') {
      rest
        .post<Conversation>('/api/conversations', {})
        .then((c) => {
          view = 'chat';
          return open(c.id);
        })
        .catch((err: unknown) => ((list.error = describe(err)), schedule()));
    } else if (s === 'a') {
      const c = list.items[list.selected];
      if (c) rest.patch(`/api/conversations/${c.id}`, { archived: !c.archived }).then(loadList, (err: unknown) => ((list.error = describe(err)), schedule()));
    } else if (s === '/') list.search = { query: '', hits: null };
    else if (name === 'tab') {
      list.archived = !list.archived;
      list.selected = 0;
      void loadList();
    }
  };

  const done = new Promise<number>((resolve) => (quitting = resolve));
  terminal.start(
    (s, key) => {
      if (view === 'chat') chatKey(s, key ?? {});
      else listKey(s, key ?? {});
      schedule();
    },
    () => draw(),
  );
  draw();
  void live.start().catch(() => undefined);
  void loadMarkdown().then(schedule, fail);
  void loadPickers();
  // The conversation: the one asked for, or a new one, or the last one this client had open, or the newest.
  const opening = (async () => {
    let id: string | undefined = o.conversationId;
    if (o.newConversation) id = (await rest.post<Conversation>('/api/conversations', {})).id;
    const last = id ? null : lastConversation(o.server);
    for (const candidate of [id, last]) {
      if (!candidate) continue;
      try {
        await open(candidate);
        return;
      } catch (err) {
        if (candidate === o.conversationId) throw err;
      }
    }
    const { items } = await rest.get<{ items: Conversation[] }>('/api/conversations?limit=1&archived=false');
    await open(items[0]?.id ?? (await rest.post<Conversation>('/api/conversations', {})).id);
  })();
  opening.catch(fail);

  const code = await done;
  live.stop();
  terminal.restore();
  writeHistory(ui.editor.history);
  if (state.conversation) process.stdout.write(`mosaic tui: ${state.conversation.title || 'Untitled conversation'} (${state.conversation.id})\n`);
  return code;
}
