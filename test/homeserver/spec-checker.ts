/**
 * Checks HTTP traffic and events against the Matrix specification's own
 * definitions (the OpenAPI files and event JSON Schemas copied under
 * `./spec/`). Every YAML file is registered with ajv under a stable base URI,
 * so the spec's relative `$ref`s (across files, and JSON pointers inside a
 * file) resolve exactly as written; schemas are compiled lazily and cached.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

export const SPEC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'spec');
const BASE = 'https://spec.matrix.local/';

export interface SpecViolation {
  /** What was checked: a request the homeserver received, a response it sent, a transaction it pushed, an event it stored. */
  kind: 'request' | 'response' | 'push' | 'push-response' | 'event' | 'unknown-endpoint';
  /** `METHOD /path/{template}` of the spec operation (or the raw path when none matched). */
  endpoint: string;
  /** The schema that rejected it: `file.yaml#/json/pointer` plus ajv's keyword path. */
  schemaPath: string;
  message: string;
}

export function formatViolation(v: SpecViolation): string {
  return `[${v.kind}] ${v.endpoint}: ${v.message} (schema ${v.schemaPath})`;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Record<string, unknown>;
  /** JSON pointer of the parameter's schema, for ajv. */
  schemaRef?: string;
}

export interface Operation {
  method: string;
  /** Full path template, e.g. `/_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}`. */
  template: string;
  endpoint: string;
  file: string;
  regex: RegExp;
  paramNames: string[];
  parameters: Parameter[];
  requestSchemaRef?: string;
  requestContentTypes: string[];
  responses: Map<string, { schemaRef?: string }>;
}

type Json = Record<string, unknown>;

function escapePointer(segment: string): string {
  return encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));
}

function walkYaml(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(dir, rel))) {
    const relPath = rel ? `${rel}/${name}` : name;
    if (statSync(path.join(dir, relPath)).isDirectory()) out.push(...walkYaml(dir, relPath));
    else if (name.endsWith('.yaml')) out.push(relPath);
  }
  return out;
}

function getPointer(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const raw of pointer.replace(/^#?\//, '').split('/')) {
    if (raw === '') continue;
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = (node as Json | undefined)?.[key];
  }
  return node;
}

export class SpecChecker {
  private static shared: SpecChecker | undefined;
  private readonly ajv: Ajv2020;
  private readonly docs = new Map<string, Json>();
  private readonly compiled = new Map<string, ValidateFunction>();
  readonly operations: Operation[] = [];

  /** The checker over the copied spec, loaded once per process. */
  static get(): SpecChecker {
    SpecChecker.shared ??= new SpecChecker(SPEC_DIR);
    return SpecChecker.shared;
  }

  constructor(dir: string) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false, logger: false });
    addFormats(this.ajv);
    const formats = parseYaml(readFileSync(path.join(dir, 'string-formats.yaml'), 'utf8')) as Json;
    const prefixes: Record<string, RegExp> = { 'mx-user-id': /^@/, 'mx-event-id': /^\$/, 'mx-room-id': /^!/, 'mx-room-alias': /^#/, 'mx-mxc-uri': /^mxc:\/\/[^/]+\/[^/]+$/ };
    for (const name of Object.keys(formats)) this.ajv.addFormat(name, prefixes[name] ?? true);
    for (const rel of walkYaml(dir)) {
      if (rel === 'string-formats.yaml') continue;
      const doc = parseYaml(readFileSync(path.join(dir, rel), 'utf8')) as Json;
      if (!doc || typeof doc !== 'object') continue;
      const id = BASE + rel;
      this.docs.set(rel, doc);
      // Keep the spec's own $schema/$id out of the way: the base URI is what makes relative $refs resolve.
      const { $schema: _s, $id: _i, ...rest } = doc;
      this.ajv.addSchema({ ...rest, $id: id }, id);
      if (rel.startsWith('api/') && doc.paths) this.indexOperations(rel, doc);
    }
    // Most specific templates first, so `/rooms/{roomId}/state` does not swallow `/rooms/{roomId}/state/{eventType}/{stateKey}`.
    this.operations.sort((a, b) => b.template.split('/').length - a.template.split('/').length || literalWeight(b.template) - literalWeight(a.template));
  }

  private resolveLocal<T>(doc: Json, node: T): T {
    const ref = (node as Json | undefined)?.$ref;
    if (typeof ref === 'string' && ref.startsWith('#')) return getPointer(doc, ref) as T;
    return node;
  }

  private localPointer(doc: Json, node: unknown, fallbackPointer: string): string {
    const ref = (node as Json | undefined)?.$ref;
    return typeof ref === 'string' && ref.startsWith('#') ? ref.slice(1) : fallbackPointer;
  }

  private indexOperations(rel: string, doc: Json): void {
    const servers = doc.servers as { variables?: { basePath?: { default?: string } } }[] | undefined;
    const basePath = servers?.[0]?.variables?.basePath?.default ?? '';
    for (const [p, item] of Object.entries(doc.paths as Record<string, Json>)) {
      for (const method of ['get', 'put', 'post', 'delete']) {
        const op = item[method] as Json | undefined;
        if (!op) continue;
        const opPointer = `/paths/${escapePointer(p)}/${method}`;
        const template = basePath + p.trim(); // the spec defines a second `/rooms/{roomId}/invite` as ".../invite " (trailing space)
        const paramNames: string[] = [];
        const regex = new RegExp('^' + template.split('/').map((seg) => {
          const m = /^\{(.+)\}$/.exec(seg);
          if (m) { paramNames.push(m[1]!); return '([^/]*)'; }
          return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        }).join('/') + '$');
        const parameters: Parameter[] = [];
        const rawParams = [...((item.parameters as unknown[]) ?? []), ...((op.parameters as unknown[]) ?? [])];
        rawParams.forEach((raw, i) => {
          const param = this.resolveLocal(doc, raw) as Parameter;
          const ptr = this.localPointer(doc, raw, `${opPointer}/parameters/${i - ((item.parameters as unknown[]) ?? []).length}`);
          parameters.push({ ...param, schemaRef: `${BASE}${rel}#${ptr}/schema` });
        });
        const body = this.resolveLocal(doc, op.requestBody as Json | undefined);
        const content = (body?.content ?? {}) as Json;
        const requestSchemaRef = (content['application/json'] as Json | undefined)?.schema
          ? `${BASE}${rel}#${this.localPointer(doc, op.requestBody, `${opPointer}/requestBody`)}/content/application~1json/schema`
          : undefined;
        const responses = new Map<string, { schemaRef?: string }>();
        for (const [status, raw] of Object.entries((op.responses ?? {}) as Json)) {
          const resp = this.resolveLocal(doc, raw) as Json;
          const json = ((resp?.content ?? {}) as Json)['application/json'] as Json | undefined;
          const ptr = this.localPointer(doc, raw, `${opPointer}/responses/${status}`);
          responses.set(status, json?.schema ? { schemaRef: `${BASE}${rel}#${ptr}/content/application~1json/schema` } : {});
        }
        this.operations.push({
          method: method.toUpperCase(), template, endpoint: `${method.toUpperCase()} ${template}`, file: rel, regex, paramNames,
          parameters, requestSchemaRef, requestContentTypes: Object.keys(content), responses,
        });
      }
    }
  }

  /**
   * The spec operation for a request, matching the raw (still percent-encoded)
   * path. Some paths have several definitions (`POST /rooms/{roomId}/invite`
   * invites a user or a third party): `alternatives` lists them all.
   */
  findOperation(method: string, rawPath: string): { op: Operation; params: Record<string, string>; alternatives: Operation[] } | undefined {
    for (const op of this.operations) {
      if (op.method !== method) continue;
      const m = op.regex.exec(rawPath);
      if (!m) continue;
      const params: Record<string, string> = {};
      op.paramNames.forEach((name, i) => { params[name] = decodeURIComponent(m[i + 1]!); });
      const alternatives = this.operations.filter((o) => o.method === method && o.template === op.template);
      return { op, params, alternatives };
    }
    // "If the state key is an empty string, the trailing slash on this endpoint is optional."
    if (!rawPath.endsWith('/')) {
      const withSlash = this.findOperation(method, `${rawPath}/`);
      if (withSlash && withSlash.op.template.endsWith('{stateKey}')) return withSlash;
    }
    return undefined;
  }

  private validator(ref: string): ValidateFunction {
    let fn = this.compiled.get(ref);
    if (!fn) {
      fn = this.ajv.compile({ $ref: ref });
      this.compiled.set(ref, fn);
    }
    return fn;
  }

  /** Validates `value` against the schema at `ref`; returns one violation per ajv error. */
  validate(ref: string, value: unknown, kind: SpecViolation['kind'], endpoint: string, what = ''): SpecViolation[] {
    const fn = this.validator(ref);
    if (fn(value)) return [];
    const shortRef = ref.replace(BASE, '');
    return (fn.errors ?? []).filter(usefulError).map((e) => ({
      kind, endpoint,
      schemaPath: e.schemaPath.startsWith('#') ? `${shortRef}${e.schemaPath.slice(1)}` : e.schemaPath.replace(BASE, ''),
      message: `${what}${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`,
    }));
  }

  checkRequest(op: Operation, params: Record<string, string>, query: URLSearchParams, body: unknown, contentType: string | undefined): SpecViolation[] {
    const out: SpecViolation[] = [];
    for (const p of op.parameters) {
      if (p.in !== 'path' && p.in !== 'query') continue;
      const raw = p.in === 'path' ? params[p.name] : query.get(p.name) ?? undefined;
      if (raw === undefined) {
        if (p.required) out.push({ kind: 'request', endpoint: op.endpoint, schemaPath: `${op.file} parameters/${p.name}`, message: `required ${p.in} parameter "${p.name}" is missing` });
        continue;
      }
      if (!p.schema) continue;
      const value = coerce(raw, p.schema);
      out.push(...this.validate(p.schemaRef!, value, 'request', op.endpoint, `${p.in} parameter "${p.name}" `));
    }
    if (op.requestSchemaRef && (!contentType || contentType.includes('json'))) {
      if (body === undefined) {
        out.push({ kind: 'request', endpoint: op.endpoint, schemaPath: `${op.file} requestBody`, message: 'a JSON body is required' });
      } else {
        out.push(...this.validate(op.requestSchemaRef, body, 'request', op.endpoint, 'body '));
      }
    }
    return out;
  }

  /** Checks a request against every definition of its endpoint; the first it satisfies wins (else the first's violations). */
  checkRequestAny(found: { op: Operation; params: Record<string, string>; alternatives: Operation[] }, query: URLSearchParams, body: unknown, contentType: string | undefined): { op: Operation; violations: SpecViolation[] } {
    let first: { op: Operation; violations: SpecViolation[] } | undefined;
    for (const op of found.alternatives) {
      const violations = this.checkRequest(op, found.params, query, body, contentType);
      if (violations.length === 0) return { op, violations };
      first ??= { op, violations };
    }
    return first ?? { op: found.op, violations: [] };
  }

  checkResponse(op: Operation, status: number, body: unknown): SpecViolation[] {
    const entry = op.responses.get(String(status));
    if (!entry) {
      if (status >= 400) return this.validate(`${BASE}api/client-server/definitions/errors/error.yaml`, body, 'response', op.endpoint, `${status} body `);
      // A 2xx the operation does not define is itself a violation.
      if (status < 300) return [{ kind: 'response', endpoint: op.endpoint, schemaPath: `${op.file} responses`, message: `status ${status} is not defined for this endpoint` }];
      return [];
    }
    if (!entry.schemaRef || body === undefined || Buffer.isBuffer(body)) return [];
    return this.validate(entry.schemaRef, body, 'response', op.endpoint, `${status} body `);
  }

  /** The event schema file for a type (`m.room.message$m.text` for a text message), if the spec defines one. */
  eventSchemaRef(type: string, content?: Json): string | undefined {
    if (type === 'm.room.message' && typeof content?.msgtype === 'string' && this.docs.has(`event-schemas/schema/m.room.message$${content.msgtype}.yaml`)) {
      return `${BASE}event-schemas/schema/m.room.message$${content.msgtype}.yaml`;
    }
    return this.docs.has(`event-schemas/schema/${type}.yaml`) ? `${BASE}event-schemas/schema/${type}.yaml` : undefined;
  }

  /** Validates only the `content` of an event the client asked to send, against its type's event schema. */
  checkEventContent(endpoint: string, type: string, content: unknown): SpecViolation[] {
    const ref = this.eventSchemaRef(type, content as Json);
    if (!ref) return [];
    const out: SpecViolation[] = [];
    if (ref.includes('$')) out.push(...this.validate(`${BASE}event-schemas/schema/m.room.message.yaml#/properties/content`, content, 'request', endpoint, `${type} content `));
    out.push(...this.validate(`${ref}#/properties/content`, content, 'request', endpoint, `${type} content `));
    return out;
  }

  /** Validates a whole event (in the client/appservice format) against its type's event schema. */
  checkEvent(endpoint: string, event: Json, kind: SpecViolation['kind'] = 'event'): SpecViolation[] {
    const ref = this.eventSchemaRef(String(event.type), event.content as Json);
    if (!ref) return [];
    return this.validate(ref, event, kind, endpoint, `${String(event.type)} event `);
  }
}

function literalWeight(template: string): number {
  return template.split('/').filter((s) => !s.startsWith('{')).length;
}

function usefulError(e: ErrorObject): boolean {
  // allOf/anyOf wrappers repeat what their branches say.
  return e.keyword !== 'if';
}

function coerce(raw: string, schema: Record<string, unknown>): unknown {
  const type = schema.type;
  if (type === 'integer' || type === 'number') return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  if (type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw;
}
