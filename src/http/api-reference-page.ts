/**
 * /api/docs: the API reference as one self-contained HTML page rendered on
 * the server from the OpenAPI document — no script, no CDN, nothing fetched.
 */
import type { JsonSchema, OpenApiDocument, OpenApiOperation, OpenApiParameter } from './openapi.ts';

const esc = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Escapes, then shows `code` spans as code: the only markup the descriptions use. */
const prose = (text: string): string => esc(text).replace(/`([^`]+)`/g, '<code>$1</code>');

const anchor = (method: string, path: string) => `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');

function typeOf(schema: JsonSchema): string {
  if (typeof schema.$ref === 'string') return schema.$ref.split('/').pop()!;
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if ('const' in schema) return JSON.stringify(schema.const);
  const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (variants) return variants.map(typeOf).join(' | ');
  const type = schema.type;
  const base = Array.isArray(type) ? type.join(' | ') : typeof type === 'string' ? type : 'any';
  if (base === 'array' && schema.items) return `${typeOf(schema.items as JsonSchema)}[]`;
  if (typeof schema.format === 'string') return `${base} (${schema.format})`;
  return base;
}

function constraints(schema: JsonSchema): string {
  const parts: string[] = [];
  const add = (key: string, label: string) => {
    if (schema[key] !== undefined) parts.push(`${label} ${JSON.stringify(schema[key])}`);
  };
  add('minLength', 'min length');
  add('maxLength', 'max length');
  add('minimum', '≥');
  add('maximum', '≤');
  add('minItems', 'min items');
  add('maxItems', 'max items');
  add('default', 'default');
  return parts.join(', ');
}

/** Object properties as a nested list; other schemas as one line. */
function renderSchema(schema: JsonSchema, depth = 0): string {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (variants && variants.some((v) => v.properties) && depth < 6) {
    return `<p>one of:</p><ol>${variants.map((v) => `<li>${renderSchema(v, depth + 1)}</li>`).join('')}</ol>`;
  }
  if (!properties || depth >= 6) return `<p><span class="type">${esc(typeOf(schema))}</span>${constraints(schema) ? ` <span class="c">${esc(constraints(schema))}</span>` : ''}</p>`;
  const required = new Set((schema.required ?? []) as string[]);
  const rows = Object.entries(properties).map(([name, p]) => {
    const nested = (p.properties || (p.items && (p.items as JsonSchema).properties)) && depth < 5 ? renderSchema(p.properties ? p : (p.items as JsonSchema), depth + 1) : '';
    const description = typeof p.description === 'string' ? ` — ${prose(p.description)}` : '';
    const extra = constraints(p);
    return `<li><code>${esc(name)}</code> <span class="type">${esc(typeOf(p))}</span>${required.has(name) ? ' <span class="req">required</span>' : ''}${extra ? ` <span class="c">${esc(extra)}</span>` : ''}${description}${nested}</li>`;
  });
  const closed = schema.additionalProperties === false ? '<p class="c">No other fields are accepted.</p>' : '';
  return `<ul class="fields">${rows.join('')}</ul>${closed}`;
}

function renderParameters(params: OpenApiParameter[]): string {
  const rows = params.map(
    (p) =>
      `<li><code>${esc(p.name)}</code> <span class="c">in ${p.in}</span> <span class="type">${esc(typeOf(p.schema))}</span>${p.required ? ' <span class="req">required</span>' : ''}${constraints(p.schema) ? ` <span class="c">${esc(constraints(p.schema))}</span>` : ''}${p.description ? ` — ${prose(p.description)}` : ''}</li>`,
  );
  return `<h4>Parameters</h4><ul class="fields">${rows.join('')}</ul>`;
}

function responseDescription(doc: OpenApiDocument, response: unknown): string {
  const r = response as { $ref?: string; description?: string };
  if (r.$ref) return (doc.components.responses[r.$ref.split('/').pop()!] as { description: string }).description;
  return r.description ?? '';
}

const AUTH: Record<OpenApiOperation['x-mosaic-auth'], string> = { public: 'no token needed', user: 'any user’s token', admin: 'an admin’s token' };

function renderOperation(doc: OpenApiDocument, method: string, path: string, op: OpenApiOperation): string {
  const body = op.requestBody?.content['application/json']?.schema;
  const responses = Object.entries(op.responses)
    .map(([status, r]) => `<li><code>${esc(status)}</code> ${prose(responseDescription(doc, r))}</li>`)
    .join('');
  return `<section class="op" id="${anchor(method, path)}">
<h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>
<p class="summary">${prose(op.summary)} <span class="auth">(${AUTH[op['x-mosaic-auth']]})</span></p>
${op.description ? `<p>${prose(op.description)}</p>` : ''}
${op.parameters?.length ? renderParameters(op.parameters) : ''}
${body ? `<h4>Request body <span class="c">application/json</span></h4>${renderSchema(body)}` : ''}
<h4>Responses</h4><ul class="responses">${responses}</ul>
</section>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2430;display:flex}
nav{width:18rem;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f6f9;padding:1rem;box-sizing:border-box;font-size:13px}
nav h2{font-size:13px;margin:1rem 0 .25rem;text-transform:uppercase;color:#5b6675}nav a{display:block;color:#1d2430;text-decoration:none;padding:1px 0}nav a:hover{text-decoration:underline}
main{padding:1.5rem 2.5rem;max-width:60rem}h1{margin-top:0}h2.tag{border-bottom:1px solid #d8dee6;padding-bottom:.25rem;margin-top:2.5rem}
.op{border:1px solid #d8dee6;border-radius:6px;padding:.25rem 1rem;margin:1rem 0}.op h3{font-size:16px}
.m{display:inline-block;min-width:4.2em;text-align:center;border-radius:4px;color:#fff;font-size:12px;padding:2px 4px;background:#5b6675}
.get{background:#2f6fb3}.post{background:#2f8a4a}.patch{background:#b07a16}.put{background:#7a4bb3}.delete{background:#b3362f}
code{background:#eef1f5;padding:0 3px;border-radius:3px;font-size:13px}.type{color:#7a4bb3;font-family:monospace}.req{color:#b3362f;font-size:12px}.c{color:#5b6675;font-size:12px}
.auth{color:#5b6675;font-size:13px}ul.fields{padding-left:1.2rem}h4{margin:.75rem 0 .25rem;font-size:14px}`;

export function renderReferencePage(doc: OpenApiDocument): string {
  const byTag = new Map<string, Array<[string, string, OpenApiOperation]>>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags[0] ?? 'Other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push([method, path, op]);
    }
  }
  const tags = doc.tags.filter((t) => byTag.has(t.name));
  const nav = tags
    .map((t) => `<h2>${esc(t.name)}</h2>${byTag.get(t.name)!.map(([m, p]) => `<a href="#${anchor(m, p)}">${m.toUpperCase()} ${esc(p.replace(/^\/api/, ''))}</a>`).join('')}`)
    .join('');
  const sections = tags
    .map((t) => `<h2 class="tag">${esc(t.name)}</h2>${t.description ? `<p>${prose(t.description)}</p>` : ''}${byTag.get(t.name)!.map(([m, p, op]) => renderOperation(doc, m, p, op)).join('')}`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(doc.info.title)} ${esc(doc.info.version)}</title><style>${STYLE}</style></head>
<body><nav><strong>${esc(doc.info.title)}</strong> <span class="c">${esc(doc.info.version)}</span>${nav}</nav>
<main><h1>${esc(doc.info.title)} <span class="c">${esc(doc.info.version)}</span></h1><p>${prose(doc.info.description)}</p>
<p>Machine-readable: <a href="/api/openapi.json"><code>/api/openapi.json</code></a> (OpenAPI ${esc(doc.openapi)}).</p>${sections}</main></body></html>
`;
}
