/**
 * Synapse's purge history admin API (POST /_synapse/admin/v1/purge_history/{roomId}):
 * after the purge has redacted a room's old events, Synapse can drop them
 * (and the redacted shells) from its database. Only Synapse has it; Conduit
 * offers no history purge (its admin room commands can only delete whole
 * rooms), so there redaction is what removes the content.
 */
import type { Logger } from '../../src/logging.ts';

export class SynapsePurge {
  constructor(
    private readonly homeserverUrl: string,
    private readonly adminToken: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Purges the room's non-state events before `before` (local events too:
   * every event Mosaic sent is local). Returns Synapse's purge id; the
   * purge itself runs in the background on Synapse.
   */
  async purge(roomId: string, before: Date): Promise<string> {
    const url = `${this.homeserverUrl.replace(/\/$/, '')}/_synapse/admin/v1/purge_history/${encodeURIComponent(roomId)}`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ purge_up_to_ts: before.getTime(), delete_local_events: true }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`Synapse purge_history for ${roomId}: ${res.status} ${text.slice(0, 200)}`);
    const purgeId = String((JSON.parse(text) as { purge_id?: unknown }).purge_id ?? '');
    this.logger.info({ channel: 'matrix', event: 'retention.synapse_purge', roomId, before: before.toISOString(), purgeId }, 'asked Synapse to purge the room history');
    return purgeId;
  }
}
