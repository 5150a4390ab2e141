/** The pieces of a conversation: messages, answers being written, routing receipts, the pickers and the input. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { renderMarkdown } from '../markdown.ts';
import type { Agent, ChatMessage, LiveAnswer, ModelInfo, Routing, SessionInfo, Usage } from '../types.ts';
import { formatUsd } from '../ui.tsx';

/** Copy buttons on code blocks: keyboard-reachable buttons, the code copied as text. */
function addCopyButtons(root: HTMLElement): void {
  for (const pre of root.querySelectorAll('pre')) {
    if (pre.querySelector('button.copy')) continue;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy';
    button.textContent = 'Copy';
    button.setAttribute('aria-label', 'Copy code');
    button.addEventListener('click', () => {
      const text = pre.querySelector('code')?.textContent ?? '';
      void copyText(text).then((ok) => {
        button.textContent = ok ? 'Copied' : 'Copy failed';
        setTimeout(() => (button.textContent = 'Copy'), 2000);
      });
    });
    pre.append(button);
  }
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Sanitised markdown; code is highlighted once the text is final (the highlighter is its own chunk). */
export function Markdown({ text, final }: { text: string; final: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  const html = useMemo(() => renderMarkdown(text), [text]);
  useEffect(() => {
    const root = ref.current;
    if (!root) return;
    if (final && root.querySelector('pre > code')) void import('../highlight.ts').then((m) => (m.highlightWithin(root), addCopyButtons(root)));
    else addCopyButtons(root);
  }, [html, final]);
  return <div class="md" ref={ref} dangerouslySetInnerHTML={{ __html: html }} />;
}

/** Model, provider, rule, reason, tokens and cost of one answer. */
export function Receipt({ provider, model, routing, usage }: { provider: string | null; model: string | null; routing: Routing | null; usage: Usage | null }) {
  if (!provider && !routing) return null;
  const rule = routing?.rule?.name ?? (routing ? 'no rule matched (default)' : null);
  return (
    <div class="receipt" aria-label="Routing receipt">
      <span class="model" data-receipt="model">
        {model}
      </span>
      <span data-receipt="provider">{provider}</span>
      {rule && <span data-receipt="rule">rule: {rule}</span>}
      {usage && (
        <span data-receipt="tokens">
          {usage.inputTokens} in / {usage.outputTokens} out tokens
        </span>
      )}
      {usage && <span data-receipt="cost">{formatUsd(usage.costUsd)}</span>}
      {routing?.reason && (
        <details>
          <summary>Why this model</summary>
          <p data-receipt="reason">{routing.reason}</p>
          {routing.classification && (
            <p>
              Classified as {routing.classification.taskType}, {routing.classification.complexity} complexity, domain {routing.classification.domain} (confidence {Math.round(routing.classification.confidence * 100)} %).
            </p>
          )}
          {routing.fallbacksTried && routing.fallbacksTried.length > 0 && (
            <ul>
              {routing.fallbacksTried.map((f) => (
                <li key={`${f.provider}/${f.model}`}>
                  Skipped {f.provider}/{f.model}: {f.why}
                </li>
              ))}
            </ul>
          )}
        </details>
      )}
    </div>
  );
}

const CHANNELS: Record<string, string> = { matrix: 'Matrix', tui: 'terminal', api: 'API', web: 'web' };

export function MessageItem({ m }: { m: ChatMessage }) {
  if (m.role === 'tool') {
    return (
      <li class="message tool" data-seq={m.seq}>
        <details>
          <summary>Tool result</summary>
          <pre>{m.content}</pre>
        </details>
      </li>
    );
  }
  const who = m.role === 'user' ? 'You' : m.role === 'assistant' ? (m.model ?? 'Assistant') : 'Mosaic';
  const via = m.role === 'user' && m.channel && CHANNELS[m.channel] ? CHANNELS[m.channel] : m.role === 'user' ? m.channel : null;
  return (
    <li class={`message ${m.role}`} data-seq={m.seq} data-id={m.id}>
      <div class="meta">
        <span class="who">{who}</span>
        {via && via !== 'web' && <span class="via">via {via}</span>}
        <time dateTime={m.createdAt}>{new Date(m.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</time>
      </div>
      {m.role === 'user' ? <p class="plain">{m.content}</p> : <Markdown text={m.content} final />}
      {m.role === 'assistant' && <Receipt provider={m.provider} model={m.model} routing={m.routing} usage={m.usage} />}
    </li>
  );
}

export function StreamingAnswer({ a }: { a: LiveAnswer }) {
  return (
    <div class="message assistant streaming" aria-busy="true" data-reply={a.replyId}>
      <div class="meta">
        <span class="who">{a.model}</span>
        <span class="writing">writing…</span>
      </div>
      {a.thinking && (
        <details class="thinking">
          <summary>Thinking</summary>
          <p class="plain">{a.thinking}</p>
        </details>
      )}
      <Markdown text={a.text} final={false} />
      <Receipt provider={a.provider} model={a.model} routing={a.routing} usage={null} />
    </div>
  );
}

/** The agent and model pickers: they send `/agent <name>` and `/model <provider/model|auto>`, as typing them would. */
export function Pickers({ info, agents, models, onCommand, disabled }: { info: SessionInfo | null; agents: Agent[]; models: ModelInfo[]; onCommand(text: string): void; disabled: boolean }) {
  const providers = [...new Set(models.map((m) => m.provider))];
  const modelValue = info?.pinned && info.provider && info.model ? `${info.provider}/${info.model}` : 'auto';
  return (
    <div class="pickers">
      <label>
        Agent
        <select value={info?.agent.name ?? ''} disabled={disabled} onChange={(e) => onCommand(`/agent ${e.currentTarget.value}`)}>
          {info && !agents.some((a) => a.name === info.agent.name) && <option value={info.agent.name}>{info.agent.displayName}</option>}
          {agents.map((a) => (
            <option key={a.id} value={a.name}>
              {a.displayName || a.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Model
        <select value={modelValue} disabled={disabled} onChange={(e) => onCommand(`/model ${e.currentTarget.value}`)}>
          <option value="auto">Automatic (routing rules)</option>
          {modelValue !== 'auto' && !models.some((m) => `${m.provider}/${m.id}` === modelValue) && <option value={modelValue}>{modelValue}</option>}
          {providers.map((p) => (
            <optgroup key={p} label={p}>
              {models
                .filter((m) => m.provider === p)
                .map((m) => (
                  <option key={m.id} value={`${m.provider}/${m.id}`}>
                    {m.displayName ?? m.id}
                  </option>
                ))}
            </optgroup>
          ))}
        </select>
      </label>
    </div>
  );
}

const COMMAND_HINT = 'Enter sends, Shift+Enter starts a new line. Commands: /help, /model, /agent, /why, /usage, /stop, /title, /new.';

export function Composer({ onSend, disabled, busy }: { onSend(text: string): Promise<boolean>; disabled: boolean; busy: boolean }) {
  const [text, setText] = useState('');
  const submit = async (e?: Event) => {
    e?.preventDefault();
    const value = text.trim();
    if (!value || disabled) return;
    if (await onSend(value)) setText('');
  };
  return (
    <form class="composer" onSubmit={submit}>
      <label for="composer" class="visually-hidden">
        Message
      </label>
      <textarea
        id="composer"
        rows={2}
        value={text}
        placeholder="Write a message, or / for a command"
        aria-describedby="composer-hint"
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) void submit(e);
        }}
      />
      <button type="submit" class="primary" disabled={disabled || busy || !text.trim()}>
        Send
      </button>
      <p id="composer-hint" class="hint">
        {COMMAND_HINT}
      </p>
    </form>
  );
}
