/**
 * The chat channels people can link to a Mosaic account. A channel (the
 * Matrix appservice) describes itself here: which ids are valid, and what a
 * person sends, and where, to redeem a link token. The core knows no
 * channel's id grammar or commands.
 */
import { badRequest } from '../errors.ts';

export interface LinkChannel {
  /** Stable lowercase name, as in `channel_identities.channel` (`matrix`). */
  name: string;
  /** For people: "Matrix". */
  label: string;
  /** What the chat account id is called in APIs and messages ("Matrix user id"). */
  idLabel: string;
  /** Why this id cannot be linked (malformed, or one of Mosaic's own users), or null when it can. */
  problemWithUserId(channelUserId: string): string | null;
  /** The exact line to send, and where, to redeem a token. */
  redeem(token: string): { line: string; where: string };
}

export class LinkChannels {
  private readonly byName = new Map<string, LinkChannel>();

  register(channel: LinkChannel): void {
    this.byName.set(channel.name, channel);
  }

  get(name: string): LinkChannel | null {
    return this.byName.get(name) ?? null;
  }

  /** The channel, or a 400 saying it is not running on this server. */
  require(name: string): LinkChannel {
    const channel = this.get(name);
    if (channel) return channel;
    const known = [...this.byName.keys()];
    throw badRequest(
      known.length
        ? `channel "${name}" cannot be linked here; linkable: ${known.join(', ')}`
        : `no chat channel is enabled on this server, so nothing can be linked (Matrix: set matrix.enabled / MATRIX_ENABLED)`,
      { channel: name },
    );
  }

  /** A valid, linkable id of the channel, or a 400 naming the problem. */
  checkUserId(name: string, channelUserId: string): LinkChannel {
    const channel = this.require(name);
    const problem = channel.problemWithUserId(channelUserId);
    if (problem) throw badRequest(`${channel.idLabel} ${JSON.stringify(channelUserId.slice(0, 300))}: ${problem}`, { channel: name });
    return channel;
  }
}
