/** /api/openapi.json and /api/docs: the API reference, served by Mosaic itself. */
import { z } from 'zod';
import { defineRoute, ok, type RouteGroup } from './route-spec.ts';
import type { OpenApiDocument } from './openapi.ts';
import { renderReferencePage } from './api-reference-page.ts';

export function referenceRoutes(document: () => OpenApiDocument): RouteGroup {
  let page: string | null = null;
  return {
    path: '',
    tag: 'Reference',
    description: 'This reference, readable and as OpenAPI 3.1.',
    routes: [
      defineRoute({
        method: 'get',
        path: '/openapi.json',
        summary: 'The OpenAPI 3.1 document of this API',
        auth: 'public',
        responses: { 200: { description: 'The document (generated from the schemas the routes validate with).', body: z.object({ openapi: z.literal('3.1.0') }).loose() } },
        handle: async () => ok(document()),
      }),
      defineRoute({
        method: 'get',
        path: '/docs',
        summary: 'This reference as a web page',
        auth: 'public',
        responses: { 200: { description: 'A self-contained HTML page.', contentType: 'text/html' } },
        handle: async (_input, { res }) => {
          page ??= renderReferencePage(document());
          res.type('html').send(page);
        },
      }),
    ],
  };
}
