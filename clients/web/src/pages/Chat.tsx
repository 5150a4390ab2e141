/** The chat page: the conversation list (search, archive) beside the open conversation. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, describeError, query } from '../api.ts';
import { answers, closeConversation, conversations, info, loadConversations, messages, onFrame, openConversation, openId, send, showArchived, stop } from '../chat-state.ts';
import { navigate } from '../router.ts';
import { liveClient } from '../session.ts';
import type { Agent, Conversation, ModelInfo } from '../types.ts';
import { ErrorNote, PageTitle, Status, useLoad } from '../ui.tsx';
import { Composer, MessageItem, Pickers, StreamingAnswer } from './chat-parts.tsx';

const titleOf = (c: Pick<Conversation, 'title'> | undefined) => c?.title || 'Untitled conversation';

interface Hit {
  messageId: string;
  conversationId: string;
  conversationTitle: string | null;
  snippet: string;
}

function Sidebar({ openIdValue }: { openIdValue: string | null }) {
  const [error, setError] = useState<string | null>(null);
  const [q, setQ] = useState('');
  const [hits, setHits] = useState<Hit[] | null>(null);
  const create = async () => {
    try {
      const c = await api<Conversation>('POST', '/api/conversations', {});
      await loadConversations();
      navigate(`/c/${c.id}`);
    } catch (err) {
      setError(describeError(err));
    }
  };
  const archive = async (c: Conversation) => {
    try {
      await api('PATCH', `/api/conversations/${c.id}`, { archived: !c.archived });
      await loadConversations();
    } catch (err) {
      setError(describeError(err));
    }
  };
  const search = async (e: Event) => {
    e.preventDefault();
    if (!q.trim()) return setHits(null);
    try {
      setHits((await api<{ hits: Hit[] }>('GET', `/api/conversations/search${query({ q })}`)).hits);
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <aside class="sidebar" aria-label="Conversations">
      <button type="button" class="primary" onClick={() => void create()}>
        New conversation
      </button>
      <form role="search" onSubmit={search} class="search">
        <label for="search">Search messages</label>
        <div class="row">
          <input id="search" type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
          <button type="submit">Search</button>
        </div>
      </form>
      {hits && (
        <section aria-label="Search results">
          <h2>{hits.length === 0 ? 'No messages found' : `${hits.length} found`}</h2>
          <ul class="hits">
            {hits.map((h) => (
              <li key={h.messageId}>
                <a href={`/c/${h.conversationId}`}>{h.conversationTitle || 'Untitled conversation'}</a>
                <p>{h.snippet}</p>
              </li>
            ))}
          </ul>
          <button type="button" onClick={() => (setHits(null), setQ(''))}>
            Clear search
          </button>
        </section>
      )}
      <label class="check">
        <input type="checkbox" checked={showArchived.value} onChange={(e) => ((showArchived.value = e.currentTarget.checked), void loadConversations())} />
        Show archived
      </label>
      <ErrorNote error={error} />
      <ul class="conversations">
        {conversations.value.map((c) => (
          <li key={c.id} class={c.id === openIdValue ? 'open' : ''}>
            <a href={`/c/${c.id}`} aria-current={c.id === openIdValue ? 'page' : undefined}>
              {titleOf(c)}
            </a>
            <button type="button" class="small" aria-label={`${c.archived ? 'Unarchive' : 'Archive'} ${titleOf(c)}`} onClick={() => void archive(c)}>
              {c.archived ? 'Unarchive' : 'Archive'}
            </button>
          </li>
        ))}
        {conversations.value.length === 0 && <li class="empty">{showArchived.value ? 'No archived conversations.' : 'No conversations yet.'}</li>}
      </ul>
    </aside>
  );
}

function Conversation({ id }: { id: string }) {
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const live = liveClient();
  const connected = live.status.value === 'open';
  const end = useRef<HTMLDivElement>(null);
  const pickers = useLoad(async () => {
    const [a, m] = await Promise.all([api<{ items: Agent[] }>('GET', '/api/agents'), api<{ models: ModelInfo[] }>('GET', '/api/providers/models?available=true')]);
    return { agents: a.items, models: m.models };
  });
  useEffect(() => {
    setError(null);
    openConversation(id).catch((err: unknown) => setError(describeError(err)));
  }, [id]);
  const list = messages.value;
  const streaming = [...answers.value.values()];
  useEffect(() => {
    end.current?.scrollIntoView({ block: 'end' });
  }, [list.length, streaming.map((a) => a.text.length).join()]);
  const conv = conversations.value.find((c) => c.id === id);
  const sendText = async (text: string): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      const { command } = await send(id, text);
      if (command) {
        setStatus(`/${command.name}: done`);
        // The command may have changed the agent or model: read them back (a session:info frame also says so).
        info.value = await api('GET', `/api/conversations/${id}/session`);
      } else setStatus('Sent');
      return true;
    } catch (err) {
      setError(describeError(err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="conversation" tabIndex={-1}>
      <header class="conversation-head">
        <a href="/" class="back">
          ← Conversations
        </a>
        <PageTitle>{titleOf(conv)}</PageTitle>
        <Pickers info={info.value} agents={pickers.data?.agents ?? []} models={pickers.data?.models ?? []} disabled={!connected || busy} onCommand={(t) => void sendText(t)} />
      </header>
      <ErrorNote error={error ?? pickers.error} />
      <div role="log" aria-label="Messages" class="log-region">
        <ol class="messages">
          {list.map((m) => (
            <MessageItem key={m.id} m={m} />
          ))}
        </ol>
      </div>
      {streaming.map((a) => (
        <StreamingAnswer key={a.replyId} a={a} />
      ))}
      <div ref={end} class="end" />
      {streaming.length > 0 && (
        <button type="button" class="stop" onClick={() => void stop(id).catch((err: unknown) => setError(describeError(err)))}>
          Stop answer
        </button>
      )}
      {!connected && <p class="notice">{live.status.value === 'reconnecting' ? 'Connection lost; reconnecting…' : 'Connecting…'}</p>}
      <Composer onSend={sendText} disabled={!connected} busy={busy} />
      <Status text={status} />
    </main>
  );
}

export function ChatPage({ conversationId }: { conversationId: string | null }) {
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    loadConversations().catch((err: unknown) => setError(describeError(err)));
    const off = liveClient().on(onFrame);
    return () => {
      off();
      closeConversation();
    };
  }, []);
  return (
    <div class={`chat${conversationId ? ' has-open' : ''}`}>
      <Sidebar openIdValue={openId.value ?? conversationId} />
      {conversationId ? (
        <Conversation key={conversationId} id={conversationId} />
      ) : (
        <main id="main" class="conversation empty" tabIndex={-1}>
          <PageTitle>Chat</PageTitle>
          <ErrorNote error={error} />
          <p>Start a new conversation, or open one from the list. Conversations from Matrix and the terminal are here too.</p>
        </main>
      )}
    </div>
  );
}
