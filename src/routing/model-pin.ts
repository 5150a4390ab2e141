/**
 * `/model <name>` and `/model auto`: turns what a person typed into a pin
 * (or its removal). Accepts `provider/model`, a model id, a display name,
 * or a family word such as "opus"; ambiguity is an error listing the
 * choices, never a guess.
 */
import { PROVIDER_NAMES } from '../providers/types.ts';
import type { ModelDirectory, ModelRef, ProviderName } from './types.ts';

export type ModelSelection = { kind: 'auto' } | ({ kind: 'pin' } & ModelRef) | { kind: 'invalid'; message: string };

export function parseModelSelection(arg: string, directory: ModelDirectory): ModelSelection {
  const text = arg.trim();
  if (!text) return { kind: 'invalid', message: 'name a model, e.g. /model claude-opus-5-5, or /model auto to let the rules choose' };
  if (/^auto$/i.test(text)) return { kind: 'auto' };
  const chat = directory.list().filter((m) => !m.embedding);
  const slash = text.indexOf('/');
  if (slash > 0 && (PROVIDER_NAMES as readonly string[]).includes(text.slice(0, slash).toLowerCase())) {
    const provider = text.slice(0, slash).toLowerCase() as ProviderName;
    const model = text.slice(slash + 1);
    const info = directory.find(provider, model);
    if (!info) return { kind: 'invalid', message: `${provider} has no model "${model}" that Mosaic knows` };
    if (info.embedding) return { kind: 'invalid', message: `${provider}/${model} is an embedding model; it cannot chat` };
    return { kind: 'pin', provider, model };
  }
  const lower = text.toLowerCase();
  let hits = chat.filter((m) => m.id.toLowerCase() === lower || m.displayName.toLowerCase() === lower);
  if (hits.length === 0) hits = chat.filter((m) => m.id.toLowerCase().split(/[-/:.]/).includes(lower));
  // The same model offered through a proxy (openrouter) is a second choice, not an ambiguity.
  if (hits.length > 1) {
    const direct = hits.filter((m) => m.provider !== 'openrouter');
    if (direct.length >= 1) hits = direct;
  }
  // A family word ("opus") within one provider means its newest version.
  if (hits.length > 1 && hits.every((m) => m.provider === hits[0]!.provider)) {
    // Newest version first; the full model before its -mini/-nano/-air cut-downs.
    const base = (id: string) => id.replace(/-(mini|nano|air|coder)$|(?<=\d)v$/, '');
    hits = [...hits].sort((a, b) => base(b.id).localeCompare(base(a.id), 'en', { numeric: true }) || a.id.length - b.id.length).slice(0, 1);
  }
  if (hits.length > 1) {
    return { kind: 'invalid', message: `"${text}" could mean ${hits.map((m) => `${m.provider}/${m.id}`).sort().join(', ')}; name one` };
  }
  const hit = hits[0];
  if (!hit) return { kind: 'invalid', message: `no model called "${text}"; try provider/model, e.g. anthropic/claude-opus-5-5` };
  return { kind: 'pin', provider: hit.provider, model: hit.id };
}
