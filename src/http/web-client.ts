/**
 * Serves the web client's build (clients/web/dist, made by `npm run build`):
 * its hashed assets, cached for good, and index.html for every page of the
 * client (`/`, `/c/<id>`, `/settings`, `/admin/jobs` …) a browser navigates
 * to, so a reload or a shared link opens the right page. Paths that belong
 * to the server (/api, /healthz, /readyz, /link, /metrics) keep their own
 * answers, and so does anything that is not a browser asking for a page
 * (a 404 in the one error shape stays a 404).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';

const SERVER_PATHS = /^\/(api|healthz|readyz|link|metrics)(\/|$)/;

/**
 * What the page may load: its own scripts, styles and images, its own API
 * and socket. No inline script or style, no framing, no plugin, no form
 * posted anywhere.
 */
export const WEB_CLIENT_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function webClient(dir: string): Router {
  const index = readFileSync(path.join(dir, 'index.html'));
  const router = express.Router();
  router.use(
    '/assets',
    express.static(path.join(dir, 'assets'), {
      index: false,
      fallthrough: true,
      // File names carry a hash of their content: a new build is a new name.
      setHeaders: (res) => res.set('Cache-Control', 'public, max-age=31536000, immutable'),
    }),
  );
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (SERVER_PATHS.test(req.path) || req.path.startsWith('/assets/')) return next();
    if (!req.accepts('html') || req.accepts(['json', 'html']) === 'json') return next();
    res.set({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache', 'Content-Security-Policy': WEB_CLIENT_CSP });
    res.status(200).send(index);
  });
  return router;
}
