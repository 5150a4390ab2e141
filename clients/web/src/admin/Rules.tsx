/** Admin: the routing rules in the order they are tried; edit, reorder, and explain what a message would get. */
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { Routing } from '../types.ts';
import { ErrorNote, PageTitle, Status, useAction, useLoad } from '../ui.tsx';

interface Rule {
  id: string;
  name: string;
  description: string;
  priority: number;
  enabled: boolean;
  scope: 'user' | 'system';
  conditions: Array<{ type: string; value: unknown }>;
  action: { routeTo: { provider: string; model: string } };
  fallbacks: Array<{ provider: string; model: string }>;
  invalid?: string;
}

const PROVIDERS = ['anthropic', 'openai', 'openrouter', 'zai', 'ollama'];
const describeConditions = (r: Rule) => (r.conditions.length === 0 ? 'every message' : r.conditions.map((c) => `${c.type} = ${Array.isArray(c.value) ? c.value.join(' or ') : String(c.value)}`).join('; '));

function RuleEditor({ rule, onSaved, onCancel }: { rule: Rule; onSaved(): Promise<void>; onCancel(): void }) {
  const act = useAction();
  const [name, setName] = useState(rule.name);
  const [enabled, setEnabled] = useState(rule.enabled);
  const [provider, setProvider] = useState(rule.action.routeTo.provider);
  const [model, setModel] = useState(rule.action.routeTo.model);
  const [conditions, setConditions] = useState(JSON.stringify(rule.conditions, null, 2));
  const [fallbacks, setFallbacks] = useState(JSON.stringify(rule.fallbacks));
  const save = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      let parsed: { conditions: unknown; fallbacks: unknown };
      try {
        parsed = { conditions: JSON.parse(conditions), fallbacks: JSON.parse(fallbacks) };
      } catch {
        throw new Error('Conditions and fallbacks must be JSON (for example [{"type":"taskType","value":"code"}]).');
      }
      await api('PATCH', `/api/routing/rules/${rule.id}`, { name, enabled, action: { routeTo: { ...rule.action.routeTo, provider, model } }, ...parsed });
      await onSaved();
    });
  };
  const id = (f: string) => `rule-${rule.id}-${f}`;
  return (
    <form onSubmit={save} class="grid-form rule-editor" aria-label={`Edit rule ${rule.name}`}>
      <label for={id('name')}>Name</label>
      <input id={id('name')} required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <label class="check">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
        Enabled
      </label>
      <label for={id('provider')}>Route to provider</label>
      <select id={id('provider')} value={provider} onChange={(e) => setProvider(e.currentTarget.value)}>
        {PROVIDERS.map((p) => (
          <option key={p}>{p}</option>
        ))}
      </select>
      <label for={id('model')}>Model</label>
      <input id={id('model')} required value={model} onInput={(e) => setModel(e.currentTarget.value)} />
      <label for={id('conditions')}>Conditions (JSON)</label>
      <textarea id={id('conditions')} rows={4} value={conditions} onInput={(e) => setConditions(e.currentTarget.value)} />
      <label for={id('fallbacks')}>Fallbacks (JSON)</label>
      <input id={id('fallbacks')} value={fallbacks} onInput={(e) => setFallbacks(e.currentTarget.value)} />
      <ErrorNote error={act.error} />
      <div class="row">
        <button type="submit" class="primary" disabled={act.busy}>
          Save rule
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Explain() {
  const [text, setText] = useState('');
  const act = useAction();
  const [result, setResult] = useState<Routing | null>(null);
  const submit = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      setResult(await api<Routing>('POST', '/api/routing/explain', { text }));
    });
  };
  return (
    <section aria-labelledby="explain-title">
      <h2 id="explain-title">Explain a message</h2>
      <form onSubmit={submit} class="inline">
        <label for="explain-text">Message</label>
        <input id="explain-text" required value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <button type="submit" disabled={act.busy}>
          Explain
        </button>
      </form>
      <ErrorNote error={act.error} />
      {result && (
        <dl class="decision" aria-live="polite" data-testid="decision">
          <dt>Outcome</dt>
          <dd>{result.outcome === 'routed' ? `${result.provider}/${result.model}` : `refused: ${result.userNotice ?? result.code}`}</dd>
          <dt>Rule</dt>
          <dd>{result.rule?.name ?? 'none (default)'}</dd>
          <dt>Reason</dt>
          <dd>{result.reason}</dd>
          {result.classification && (
            <>
              <dt>Classification</dt>
              <dd>
                {result.classification.taskType}, {result.classification.complexity}, {result.classification.domain} ({Math.round(result.classification.confidence * 100)} %)
              </dd>
            </>
          )}
          {result.fallbacksTried && result.fallbacksTried.length > 0 && (
            <>
              <dt>Skipped</dt>
              <dd>{result.fallbacksTried.map((f) => `${f.provider}/${f.model}: ${f.why}`).join('; ')}</dd>
            </>
          )}
        </dl>
      )}
    </section>
  );
}

export function RulesPage() {
  const rules = useLoad(() => api<{ rules: Rule[] }>('GET', '/api/routing/rules'));
  const act = useAction();
  const [editing, setEditing] = useState<string | null>(null);
  const all = rules.data?.rules ?? [];
  const move = (rule: Rule, by: -1 | 1) => {
    const scope = all.filter((r) => r.scope === rule.scope);
    const i = scope.findIndex((r) => r.id === rule.id);
    const j = i + by;
    if (j < 0 || j >= scope.length) return;
    const ids = scope.map((r) => r.id);
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    void act.run(async () => {
      await api('POST', '/api/routing/rules/reorder', { scope: rule.scope, ids });
      await rules.reload();
      return `${rule.name} moved ${by < 0 ? 'up' : 'down'}.`;
    });
  };
  const section = (scope: 'system' | 'user', title: string) => {
    const list = all.filter((r) => r.scope === scope);
    return (
      <section aria-labelledby={`rules-${scope}`}>
        <h2 id={`rules-${scope}`}>{title}</h2>
        {list.length === 0 && <p>None.</p>}
        <ol class="rules">
          {list.map((r, i) => (
            <li key={r.id} data-rule={r.name}>
              <div class="rule-head">
                <strong>{r.name}</strong>
                {!r.enabled && <span class="badge">disabled</span>}
                {r.invalid && <span class="badge danger">invalid: {r.invalid}</span>}
              </div>
              <p>
                When {describeConditions(r)} → <code>{r.action.routeTo.provider}/{r.action.routeTo.model}</code>
                {r.fallbacks.length > 0 && <> (then {r.fallbacks.map((f) => `${f.provider}/${f.model}`).join(', ')})</>}
              </p>
              <div class="row">
                <button type="button" class="small" disabled={i === 0 || act.busy} onClick={() => move(r, -1)} aria-label={`Move ${r.name} up`}>
                  Up
                </button>
                <button type="button" class="small" disabled={i === list.length - 1 || act.busy} onClick={() => move(r, 1)} aria-label={`Move ${r.name} down`}>
                  Down
                </button>
                <button type="button" class="small" onClick={() => setEditing(editing === r.id ? null : r.id)} aria-expanded={editing === r.id} aria-label={`Edit ${r.name}`}>
                  Edit
                </button>
              </div>
              {editing === r.id && (
                <RuleEditor
                  rule={r}
                  onCancel={() => setEditing(null)}
                  onSaved={async () => {
                    setEditing(null);
                    await rules.reload();
                  }}
                />
              )}
            </li>
          ))}
        </ol>
      </section>
    );
  };
  return (
    <main id="main" class="page" tabIndex={-1}>
      <PageTitle>Routing rules</PageTitle>
      <p class="hint">Rules are tried in order (yours first, then the system's); the first that matches chooses the model.</p>
      <ErrorNote error={rules.error ?? act.error} />
      <Status text={act.done} />
      <Explain />
      {section('system', 'System rules')}
      {section('user', 'Your own rules')}
    </main>
  );
}
