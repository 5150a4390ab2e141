/**
 * The API reference against the routes that really run. Every route in the
 * running gateway's express app must be a declared route (src/http/route-spec.ts)
 * and appear in /api/openapi.json with the request schema it validates with;
 * and the routes must refuse what the document says they refuse.
 */
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPEC, type AnyRouteSpec, type RouteGroup } from '../../src/http/route-spec.ts';
import { PAGE } from '../../src/http/link-page.ts';
import { documentPath, inputSchema, type JsonSchema, type OpenApiDocument } from '../../src/http/openapi.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';

interface Layer {
  route?: { path: string; methods: Record<string, boolean>; stack: Array<{ handle: unknown }> };
  handle?: { stack?: Layer[] };
}

/** Every route express would run, with the declaration its handler carries (if any). */
function expressRoutes(app: Express): Array<{ methods: string[]; routePath: string; declared: { spec: AnyRouteSpec; group: RouteGroup } | null; page: boolean }> {
  const out: Array<{ methods: string[]; routePath: string; declared: { spec: AnyRouteSpec; group: RouteGroup } | null; page: boolean }> = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const declared = layer.route.stack.map((l) => (l.handle as Record<symbol, unknown>)[SPEC]).find(Boolean) as { spec: AnyRouteSpec; group: RouteGroup } | undefined;
        const page = layer.route.stack.some((l) => (l.handle as Record<symbol, unknown>)[PAGE] === true);
        out.push({ methods: Object.keys(layer.route.methods).filter((m) => m !== '_all'), routePath: layer.route.path, declared: declared ?? null, page });
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}

let mosaic: TestMosaic;
let doc: OpenApiDocument;
beforeAll(async () => {
  mosaic = await startTestMosaic({ providers: ['ollama'] });
  const res = await fetch(`${mosaic.url}/api/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as OpenApiDocument;
}, 120_000);
afterAll(async () => mosaic?.stop());

describe('/api/openapi.json', () => {
  it('is OpenAPI 3.1 with valid JSON Schemas', () => {
    expect(doc.openapi).toBe('3.1.0');
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    let schemas = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])) {
          expect(op.parameters?.some((p) => p.in === 'path' && p.name === name), `${method} ${path}: {${name}} is described`).toBe(true);
        }
        const body = op.requestBody?.content['application/json']?.schema;
        for (const schema of [body, ...(op.parameters ?? []).map((p) => p.schema)].filter(Boolean) as JsonSchema[]) {
          ajv.compile(schema);
          schemas += 1;
        }
      }
    }
    expect(schemas).toBeGreaterThan(20);
  });

  it('documents every route the app runs, with the request schema the route validates with', () => {
    const routes = expressRoutes(mosaic.running.app);
    // Probes and metrics outside /api, for load balancers and Prometheus: not part of the API reference.
    const probes = new Set(['/healthz', '/readyz', '/metrics']);
    // Pages for people (the link page, /link/:channel): HTML forms outside /api, not part of the API reference.
    expect(routes.filter((r) => r.page).length).toBe(3);
    const undeclared = routes.filter((r) => !r.declared && !r.page && !probes.has(r.routePath)).map((r) => `${r.methods.join(',').toUpperCase()} ${r.routePath}`);
    expect(undeclared, 'routes that are not declared with defineRoute (so not in the API reference)').toEqual([]);
    const declared = routes.filter((r) => r.declared);
    expect(declared.length).toBeGreaterThan(30);
    for (const { declared: d } of declared) {
      const { spec, group } = d!;
      const path = documentPath(group, spec);
      const op = doc.paths[path]?.[spec.method];
      expect(op, `${spec.method.toUpperCase()} ${path} is missing from the document`).toBeDefined();
      expect(op!.requestBody?.content['application/json']?.schema, `${spec.method.toUpperCase()} ${path}: request body`).toEqual(spec.body ? inputSchema(spec.body) : undefined);
      const documentedParams = (op!.parameters ?? []).map((p) => `${p.in}:${p.name}`).sort();
      const ranParams = [...Object.keys((spec.params ? inputSchema(spec.params).properties : {}) ?? {}).map((n) => `path:${n}`), ...Object.keys((spec.query ? inputSchema(spec.query).properties : {}) ?? {}).map((n) => `query:${n}`)].sort();
      expect(documentedParams, `${spec.method.toUpperCase()} ${path}: parameters`).toEqual(ranParams);
      expect(op!['x-mosaic-auth']).toBe(spec.auth);
    }
    // And nothing documented that does not run.
    const ran = new Set(declared.map(({ declared: d }) => `${d!.spec.method} ${documentPath(d!.group, d!.spec)}`));
    const documented = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m} ${p}`));
    expect(documented.filter((d) => !ran.has(d))).toEqual([]);
  });

  it('routes refuse what the document says they refuse: missing required fields, undocumented fields', async () => {
    let checked = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const schema = op.requestBody?.content['application/json']?.schema as { required?: string[]; additionalProperties?: boolean } | undefined;
        if (!schema) continue;
        // Any well-formed id: the body is checked before anything is looked up.
        const url = `${mosaic.url}${path.replace(/\{(\w+)\}/g, (_m, name: string) => (name === 'username' || name === 'name' ? 'someone' : randomUUID()))}`;
        const send = (body: unknown) => fetch(url, { method: method.toUpperCase(), headers: { authorization: `Bearer ${mosaic.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        if (schema.required?.length) {
          const res = await send({});
          expect(res.status, `${method} ${path} with {}`).toBe(400);
          const message = ((await res.json()) as { error: { message: string } }).error.message;
          for (const field of schema.required) expect(message, `${method} ${path}: names ${field}`).toContain(`body.${field}`);
          checked += 1;
        }
        if (schema.additionalProperties === false) {
          const res = await send({ undocumentedField: true });
          expect(res.status, `${method} ${path} with an undocumented field`).toBe(400);
          expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/undocumentedField/);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
  });
});

describe('/api/docs', () => {
  it('is one self-contained page (no script, nothing fetched elsewhere) showing every operation', async () => {
    const res = await fetch(`${mosaic.url}/api/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).not.toMatch(/<script|<link[^>]+stylesheet|src="http/i);
    for (const path of Object.keys(doc.paths)) expect(html).toContain(path.replace(/&/g, '&amp;'));
    // The request bodies people asked about: what the fields are called.
    expect(html).toContain('<code>systemPrompt</code>');
    expect(html).toContain('<code>content</code>');
  });
});
