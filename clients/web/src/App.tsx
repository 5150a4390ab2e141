/** The shell: sign-in or the signed-in pages, with the navigation and the connection's state. */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { currentPath, match, navigate, onLinkClick } from './router.ts';
import { checking, liveClient, session, signOut } from './session.ts';
import { SignIn } from './pages/SignIn.tsx';
import { ChatPage } from './pages/Chat.tsx';
import { PageTitle } from './ui.tsx';

// Settings and the admin pages are chunks of their own: the chat page's first load does not carry them.
const loadSettings = () => import('./pages/Settings.tsx');
const loadAdmin = () => import('./admin/index.ts');

function Lazy<M>({ load, render }: { load: () => Promise<M>; render(mod: M): JSX.Element }) {
  const [mod, setMod] = useState<M | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    load().then(setMod, () => setFailed(true));
  }, [load]);
  useEffect(() => {
    if (mod) document.querySelector<HTMLElement>('.page-title')?.focus();
  }, [mod]);
  if (failed) return <p role="alert">This page could not be loaded; reload to try again.</p>;
  return mod ? render(mod) : <p class="loading">Loading…</p>;
}

const ADMIN_PAGES = [
  { path: '/admin/users', label: 'Users' },
  { path: '/admin/rules', label: 'Routing rules' },
  { path: '/admin/jobs', label: 'Jobs' },
  { path: '/admin/providers', label: 'Providers' },
];

function ConnectionState() {
  const status = liveClient().status.value;
  const text = status === 'open' ? 'Live' : status === 'connecting' ? 'Connecting…' : status === 'reconnecting' ? 'Reconnecting…' : 'Offline';
  return (
    <span class={`connection ${status}`} role="status" aria-live="polite" data-status={status}>
      {text}
    </span>
  );
}

function NavLink({ href, label, current }: { href: string; label: string; current: boolean }) {
  return (
    <a href={href} aria-current={current ? 'page' : undefined}>
      {label}
    </a>
  );
}

function Page({ path }: { path: string }) {
  const user = session.value!.user;
  if (path === '/' || match('/c/:id', path)) return <ChatPage conversationId={match('/c/:id', path)?.id ?? null} />;
  if (path === '/settings') return <Lazy load={loadSettings} render={(m) => <m.SettingsPage />} />;
  if (path.startsWith('/admin')) {
    if (user.role !== 'admin') {
      return (
        <main id="main" class="page">
          <PageTitle>Admins only</PageTitle>
          <p role="alert">The admin pages need an admin account; you are signed in as {user.username}, a member.</p>
        </main>
      );
    }
    if (path === '/admin') {
      navigate('/admin/users', true);
      return null;
    }
    const job = match('/admin/jobs/:id', path);
    const page = (m: Awaited<ReturnType<typeof loadAdmin>>) =>
      path === '/admin/users' ? <m.UsersPage /> : path === '/admin/rules' ? <m.RulesPage /> : path === '/admin/jobs' ? <m.JobsPage /> : job ? <m.JobPage id={job.id!} /> : path === '/admin/providers' ? <m.ProvidersPage /> : null;
    if (['/admin/users', '/admin/rules', '/admin/jobs', '/admin/providers'].includes(path) || job) return <Lazy load={loadAdmin} render={(m) => page(m)!} />;
  }
  return (
    <main id="main" class="page">
      <PageTitle>Page not found</PageTitle>
      <p>
        Nothing here. Go to the <a href="/">chat</a>.
      </p>
    </main>
  );
}

export function App() {
  const path = currentPath.value;
  const section = path.split('/')[1] ?? '';
  const lastSection = useRef(section);
  useEffect(() => {
    // A new page: move focus to its heading, so keyboard and screen reader users start there.
    if (lastSection.current !== section || path.startsWith('/admin')) document.querySelector<HTMLElement>('.page-title')?.focus();
    lastSection.current = section;
  }, [path]);
  if (checking.value) return <p class="loading">Loading…</p>;
  const s = session.value;
  if (!s) return <SignIn />;
  const isChat = path === '/' || path.startsWith('/c/');
  return (
    <div class="shell" onClick={onLinkClick}>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Mosaic</span>
        <nav aria-label="Main">
          <NavLink href="/" label="Chat" current={isChat} />
          <NavLink href="/settings" label="Settings" current={path === '/settings'} />
          {s.user.role === 'admin' && ADMIN_PAGES.map((p) => <NavLink key={p.path} href={p.path} label={p.label} current={path.startsWith(p.path)} />)}
        </nav>
        <div class="account">
          <ConnectionState />
          <span class="user">{s.user.username}</span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <Page path={path} />
    </div>
  );
}
