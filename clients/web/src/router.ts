/** The page's own routes, in the address bar (history API), so reloads and links open the right page. */
import { signal } from '@preact/signals';

export const currentPath = signal(location.pathname);

export function navigate(path: string, replace = false): void {
  if (path === currentPath.value) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  currentPath.value = path;
}

addEventListener('popstate', () => {
  currentPath.value = location.pathname;
});

/** Follows same-origin links inside the page without a reload (modifier clicks open tabs as usual). */
export function onLinkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest('a');
  if (!a || a.target || a.origin !== location.origin || a.hasAttribute('download')) return;
  if (a.pathname.startsWith('/api/') || a.pathname.startsWith('/link/')) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}

/** `/c/:id` → { id }, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const s = path.split('/');
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i]!.startsWith(':')) out[p[i]!.slice(1)] = decodeURIComponent(s[i]!);
    else if (p[i] !== s[i]) return null;
  }
  return out;
}
