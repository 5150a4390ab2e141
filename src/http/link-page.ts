/**
 * The browser link page, `/link/:channel?state=…`: server-rendered, no
 * script, no external resource. Sign in with username and password, see
 * which chat account will be linked, confirm. Forms post back here with
 * the state and a single-use form token (browser-link-flow.ts); no cookie
 * is set. Every answer is `no-store`, sends no referrer (the state is in
 * the URL) and carries a CSP that allows only this page's own style and
 * form posts to itself.
 */
import { createHash } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { BrowserLinkFlow, BrowserStep } from '../identity/browser-link-flow.ts';
import { checkBody } from './edge.ts';

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:28rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.75rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.35rem;margin:0 0 1rem}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #9aa3b5;border-radius:.4rem;font:inherit}
button{margin-top:1.25rem;padding:.55rem 1.1rem;border:0;border-radius:.4rem;font:inherit;cursor:pointer;background:#2f6fde;color:#fff}
button.secondary{background:#e4e7ee;color:#1d2330;margin-left:.5rem}
code{background:#eef0f4;padding:.1rem .3rem;border-radius:.25rem;word-break:break-all}
.problem{background:#fdecec;border:1px solid #e8a5a5;padding:.6rem .8rem;border-radius:.4rem}
.ok{background:#e9f7ee;border:1px solid #9fd3b0;padding:.6rem .8rem;border-radius:.4rem}
`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');
const CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** Escapes, then renders `code` spans written with backticks. */
const text = (s: string) => escapeHtml(s).replace(/`([^`]+)`/g, '<code>$1</code>');

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Mosaic</title>
<style>${STYLE}</style>
</head>
<body><main>
<h1>${escapeHtml(title)}</h1>
${body}
</main></body>
</html>
`;
}

const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;

function render(step: BrowserStep, nonce: string): { status: number; html: string } {
  switch (step.step) {
    case 'sign-in': {
      const action = `/link/${step.channel.name}/sign-in`;
      return {
        status: step.problem ? 401 : 200,
        html: page(
          `Link your ${step.channel.label} account`,
          `<p>Sign in to Mosaic to link the ${escapeHtml(step.channel.idLabel)} <code>${escapeHtml(step.channelUserId)}</code> to your Mosaic account.</p>
${step.problem ? `<p class="problem" role="alert">${text(step.problem)}</p>` : ''}
<form method="post" action="${action}">
${hidden('state', nonce)}${hidden('form', step.form)}
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="64" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" maxlength="1024" required>
<button type="submit">Sign in</button>
</form>`,
        ),
      };
    }
    case 'confirm':
      return {
        status: 200,
        html: page(
          'Confirm the link',
          `<p>You are signed in as <strong>${escapeHtml(step.username)}</strong>.</p>
<p>Link the ${escapeHtml(step.channel.idLabel)} <code>${escapeHtml(step.channelUserId)}</code> to this account? Everything it writes to Mosaic will then act as <strong>${escapeHtml(step.username)}</strong>. Only confirm if <code>${escapeHtml(step.channelUserId)}</code> is you.</p>
<form method="post" action="/link/${step.channel.name}/confirm">
${hidden('state', nonce)}${hidden('form', step.form)}
<button type="submit" name="decision" value="link">Link ${escapeHtml(step.channelUserId)}</button><button type="submit" name="decision" value="cancel" class="secondary">Cancel</button>
</form>`,
        ),
      };
    case 'done':
      return {
        status: 200,
        html: page(
          step.outcome === 'linked' ? 'Linked' : 'Already linked',
          `<p class="ok" role="status">The ${escapeHtml(step.channel.idLabel)} <code>${escapeHtml(step.channelUserId)}</code> is linked to the Mosaic account <strong>${escapeHtml(step.username)}</strong>.</p>
<p>You can close this page and go back to ${escapeHtml(step.channel.label)}: write there again and you will be answered.</p>`,
        ),
      };
    case 'refused':
      return { status: step.status, html: page(step.title, `<p${step.status >= 400 ? ' class="problem" role="alert"' : ''}>${text(step.message)}</p>`) };
  }
}

function send(res: Response, step: BrowserStep, nonce: string): void {
  const { status, html } = render(step, nonce);
  res.status(status).type('html').send(html);
}

const field = (req: Request, name: string, max: number): string => {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' && v.length <= max ? v : '';
};

const refused = (status: number, title: string, message: string): BrowserStep => ({ step: 'refused', status, title, message, channel: null });

/**
 * Marks the handlers of a page (HTML for people, outside /api): not part of
 * the API reference, which documents every other route the app runs.
 */
export const PAGE = Symbol.for('mosaic.page');
const pageHandler = <F extends (req: Request, res: Response) => Promise<void>>(handler: F): F => Object.defineProperty(handler, PAGE, { value: true });

export function linkPageRouter(flow: BrowserLinkFlow): Router {
  const r = Router();
  r.use((_req, res, next) => {
    res.set({ 'Content-Security-Policy': CSP, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' });
    next();
  });
  r.get('/:channel', pageHandler(async (req, res) => {
    const state = typeof req.query.state === 'string' ? req.query.state : '';
    if (!state) return void send(res, refused(400, 'This link is incomplete', 'Open the whole link the chat sent you (it ends with `?state=…`).'), '');
    send(res, await flow.open(String(req.params.channel), state), state);
  }));
  // The form is parsed, then checked by the same intake walk as every API body (NUL, invalid Unicode).
  const form = [express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 }), checkBody];
  const needsForm = (req: Request, res: Response): boolean => {
    if (req.is('application/x-www-form-urlencoded')) return true;
    send(res, refused(415, 'Not a form', 'This address takes the link page’s own form (application/x-www-form-urlencoded).'), '');
    return false;
  };
  r.post('/:channel/sign-in', ...form, pageHandler(async (req, res) => {
    if (!needsForm(req, res)) return;
    const state = field(req, 'state', 64);
    send(res, await flow.signIn(String(req.params.channel), state, field(req, 'form', 64), field(req, 'username', 64), field(req, 'password', 1024)), state);
  }));
  r.post('/:channel/confirm', ...form, pageHandler(async (req, res) => {
    if (!needsForm(req, res)) return;
    const state = field(req, 'state', 64);
    const decision = field(req, 'decision', 16) === 'link' ? 'link' : 'cancel';
    send(res, await flow.confirm(String(req.params.channel), state, field(req, 'form', 64), decision), state);
  }));
  return r;
}
