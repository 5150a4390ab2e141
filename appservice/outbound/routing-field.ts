/**
 * `mosaic.routing`, the one custom field Mosaic puts in events: the routing
 * decision of an answer, in a fixed, documented shape (docs/matrix.md lists
 * each member and its JSON type). Only what a person may read about the
 * decision goes in: the model, the rule, the reason, the classification,
 * the fallbacks tried — not the agent's system prompt or tool list, which
 * the stored decision also carries. Numbers are left as they are: the
 * canonical-JSON encoder in the client turns the classification's
 * `confidence` (a fraction) into a decimal string.
 */

type Json = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);

function compact(o: Json): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** The `mosaic.routing` value for a stored routing decision, or null when there is none. */
export function routingField(routing: unknown): Json | null {
  const r = obj(routing);
  if (!r || !str(r.provider) || !str(r.model)) return null;
  const rule = obj(r.rule);
  const c = obj(r.classification);
  const caps = obj(c?.capabilities);
  const tried = Array.isArray(r.fallbacksTried) ? r.fallbacksTried.map(obj).filter((t): t is Json => t !== undefined) : [];
  return compact({
    provider: str(r.provider),
    model: str(r.model),
    rule: rule && str(rule.name) ? compact({ id: str(rule.id), name: str(rule.name) }) : null,
    reason: str(r.reason) ?? '',
    classification: c
      ? compact({
          taskType: str(c.taskType),
          complexity: str(c.complexity),
          domain: str(c.domain),
          confidence: typeof c.confidence === 'number' ? c.confidence : undefined,
          capabilities: caps
            ? compact({
                tools: typeof caps.tools === 'boolean' ? caps.tools : undefined,
                vision: typeof caps.vision === 'boolean' ? caps.vision : undefined,
                minContextWindow: typeof caps.minContextWindow === 'number' ? caps.minContextWindow : undefined,
              })
            : undefined,
        })
      : undefined,
    fallbacksTried: tried.map((t) => compact({ provider: str(t.provider), model: str(t.model), why: str(t.why) })),
    estimatedCostTier: str(r.estimatedCostTier),
  });
}
