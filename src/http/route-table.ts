/**
 * The routes an express app answers, read from its router stack: the list
 * the attacker suite checks its cases against (a route without cases fails
 * it), and the methods a path allows (405 instead of 404 when the path
 * exists under another method).
 */
import type { Express } from 'express';

interface RouteLike {
  path: string;
  methods: Record<string, boolean>;
}

interface LayerLike {
  rawPath?: unknown;
  route?: RouteLike;
  handle?: { stack?: LayerLike[] };
  match(path: string): false | { path: string };
}

export interface RouteEntry {
  method: string;
  /** The full template, e.g. `/api/conversations/:id`. */
  path: string;
}

function stackOf(app: Express): LayerLike[] {
  return ((app as unknown as { router: { stack: LayerLike[] } }).router?.stack ?? []) as LayerLike[];
}

function join(prefix: string, part: string): string {
  if (part === '/' || part === '') return prefix || '/';
  return `${prefix}${part.startsWith('/') ? '' : '/'}${part}`.replace(/\/{2,}/g, '/');
}

/** Every method + template the app routes, in stack order. */
export function routeTable(app: Express): RouteEntry[] {
  const out: RouteEntry[] = [];
  const walk = (stack: LayerLike[], prefix: string) => {
    for (const layer of stack) {
      const raw = typeof layer.rawPath === 'string' ? layer.rawPath : '';
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) if (method !== '_all') out.push({ method: method.toUpperCase(), path: join(prefix, layer.route.path) });
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, join(prefix, raw));
      }
    }
  };
  walk(stackOf(app), '');
  return out;
}

/** The methods some route answers for this concrete path (empty when no route matches it at all). */
export function allowedMethods(app: Express, path: string): string[] {
  const found = new Set<string>();
  const walk = (stack: LayerLike[], rest: string) => {
    for (const layer of stack) {
      const match = layer.match(rest);
      if (!match) continue;
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) if (method !== '_all') found.add(method.toUpperCase());
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, rest.slice(match.path.length) || '/');
      }
    }
  };
  walk(stackOf(app), path);
  if (found.has('GET')) found.add('HEAD');
  return [...found].sort();
}
