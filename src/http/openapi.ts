/**
 * The OpenAPI 3.1 document of the REST API, generated from the route
 * declarations (src/http/route-spec.ts) — the same zod schemas the routes
 * validate with — and served at /api/openapi.json.
 */
import { z } from 'zod';
import type { AnyRouteSpec, RouteGroup } from './route-spec.ts';

export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string }>;
  tags: Array<{ name: string; description?: string }>;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, JsonSchema>; responses: Record<string, unknown> };
}

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security?: Array<Record<string, string[]>>;
  'x-mosaic-auth': AnyRouteSpec['auth'];
  parameters?: OpenApiParameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, unknown>;
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  return rest;
}

/** JSON Schema (2020-12, the dialect of OpenAPI 3.1) of what a client sends; parts zod cannot express become `{}`. */
export function inputSchema(schema: z.ZodType): JsonSchema {
  return jsonSchema(schema, 'input');
}

function outputSchema(schema: z.ZodType): JsonSchema {
  return jsonSchema(schema, 'output');
}

/** `/conversations` + `/:id/messages` → `/api/conversations/{id}/messages`. */
export function documentPath(group: RouteGroup, route: AnyRouteSpec): string {
  const joined = `/api${group.path}${route.path === '/' ? '' : route.path}`.replace(/\/+$/, '') || '/api';
  return joined.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): OpenApiParameter[] {
  if (!schema) return [];
  const json = inputSchema(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, propertySchema]) => {
    const { description, ...rest } = propertySchema;
    return { name, in: where, required: where === 'path' || required.has(name), ...(typeof description === 'string' ? { description } : {}), schema: rest };
  });
}

function operationId(method: string, path: string): string {
  const words = path
    .replace(/^\/api\//, '')
    .split('/')
    .map((w) => (w.startsWith('{') ? `by-${w.slice(1, -1)}` : w));
  return [method, ...words].join('-').replace(/[^A-Za-z0-9]+(.)/g, (_m, c: string) => c.toUpperCase());
}

const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

function operation(group: RouteGroup, route: AnyRouteSpec, path: string): OpenApiOperation {
  const params = [...parameters(route.params, 'path'), ...parameters(route.query, 'query')];
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(route.responses)) {
    responses[status] = {
      description: r.description,
      ...(r.body || r.contentType ? { content: { [r.contentType ?? 'application/json']: { schema: r.body ? outputSchema(r.body) : {} } } } : {}),
    };
  }
  if (route.params || route.query || route.body) responses['400'] = { $ref: '#/components/responses/BadRequest' };
  if (route.auth !== 'public') responses['401'] = { $ref: '#/components/responses/Unauthorized' };
  if (route.auth === 'admin') responses['403'] = { $ref: '#/components/responses/Forbidden' };
  if (route.params) responses['404'] = { $ref: '#/components/responses/NotFound' };
  responses['429'] = { $ref: '#/components/responses/RateLimited' };
  return {
    operationId: operationId(route.method, path),
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [group.tag],
    ...(route.auth === 'public' ? { security: [] } : {}),
    'x-mosaic-auth': route.auth,
    ...(params.length ? { parameters: params } : {}),
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: inputSchema(route.body) } } } } : {}),
    responses,
  };
}

export function buildOpenApiDocument(groups: RouteGroup[], info: { version: string }): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const group of groups) {
    for (const route of group.routes) {
      const path = documentPath(group, route);
      const entry = (paths[path] ??= {});
      if (entry[route.method]) throw new Error(`${route.method.toUpperCase()} ${path} is declared twice`);
      entry[route.method] = operation(group, route, path);
    }
  }
  const tags = [...new Map(groups.map((g) => [g.tag, { name: g.tag, ...(g.description ? { description: g.description } : {}) }])).values()];
  return {
    openapi: '3.1.0',
    info: {
      title: 'Mosaic API',
      version: info.version,
      description:
        'The REST API of Mosaic, a Matrix-native AI agent gateway. Send a personal access token as `Authorization: Bearer mos_…` (`mosaic user create` / `mosaic user token`). Every error has one shape: `{ "error": { "code", "message" } }`. Another user\'s ids answer 404, never 403.',
    },
    servers: [{ url: '/' }],
    tags,
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A personal access token (mos_…)' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } } } },
        },
      },
      responses: {
        BadRequest: error('The request does not match the documented schema; the message names each bad field.'),
        Unauthorized: error('No token, or an unknown, revoked or expired one, or a disabled account.'),
        Forbidden: error('The route needs an admin token.'),
        NotFound: error('No such object, or it is another user\'s.'),
        RateLimited: error('Too many requests from this client this minute.'),
      },
    },
  };
}
