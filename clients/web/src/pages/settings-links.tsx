/**
 * Settings: the Matrix accounts linked to this account. A link token is
 * shown once, with the exact line to send the bot; links can be revoked
 * here (the next Matrix message of a revoked account gets the how-to-link
 * notice).
 */
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ErrorNote, formatTime, Status, useAction, useLoad } from '../ui.tsx';

interface Link {
  channel: string;
  channelUserId: string;
  linkedAt: string;
}

interface IssuedToken {
  line: string;
  where: string;
  expiresAt: string;
}

export function LinkedAccounts() {
  const links = useLoad(() => api<{ links: Link[] }>('GET', '/api/me/links'));
  const act = useAction();
  const [issued, setIssued] = useState<IssuedToken | null>(null);
  const issue = () =>
    void act.run(async () => {
      setIssued(await api<IssuedToken>('POST', '/api/auth/channel-link-token', { channel: 'matrix' }));
      return 'Link token issued: it works once, for 15 minutes.';
    });
  const revoke = (l: Link) =>
    void act.run(async () => {
      if (!confirm(`Unlink ${l.channelUserId}? Its messages will no longer reach your account.`)) return;
      await api('DELETE', `/api/auth/channel-links/${encodeURIComponent(l.channel)}/${encodeURIComponent(l.channelUserId)}`);
      await links.reload();
      return `${l.channelUserId} unlinked.`;
    });
  return (
    <section aria-labelledby="links-title">
      <h2 id="links-title">Matrix accounts</h2>
      <p class="hint">Link your Matrix account to talk to the agents from Element or any Matrix client as this account.</p>
      <ErrorNote error={links.error ?? act.error} />
      <Status text={act.done} />
      <ul class="links" aria-label="Linked Matrix accounts">
        {(links.data?.links ?? []).map((l) => (
          <li key={`${l.channel}:${l.channelUserId}`}>
            <code>{l.channelUserId}</code> <span class="hint">linked {formatTime(l.linkedAt)}</span>{' '}
            <button type="button" class="small danger" onClick={() => revoke(l)} aria-label={`Unlink ${l.channelUserId}`}>
              Unlink
            </button>
          </li>
        ))}
        {links.data && links.data.links.length === 0 && <li>No Matrix account linked.</li>}
      </ul>
      <button type="button" onClick={issue} disabled={act.busy}>
        Get a link token
      </button>
      {issued && (
        <div class="link-token" data-testid="link-token">
          <p>
            Send this line {issued.where} (until {formatTime(issued.expiresAt)}):
          </p>
          <pre>
            <code>{issued.line}</code>
          </pre>
          <button type="button" class="small" onClick={() => void navigator.clipboard?.writeText(issued.line)}>
            Copy
          </button>
          <button type="button" class="small" onClick={() => void links.reload()}>
            I sent it: refresh
          </button>
        </div>
      )}
    </section>
  );
}
