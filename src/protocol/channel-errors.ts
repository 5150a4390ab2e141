/** Errors channel adapters raise, as the protocol requires. */
import { MosaicError, type MosaicErrorOptions } from '../errors.ts';

export class ChannelConnectError extends MosaicError {
  constructor(channel: string, message: string, options: MosaicErrorOptions = {}) {
    super('channel_connect', `${channel}: ${message}`, { httpStatus: 503, retryable: true, ...options });
    this.name = 'ChannelConnectError';
  }
}

export class ChannelSendError extends MosaicError {
  constructor(channel: string, message: string, options: MosaicErrorOptions = {}) {
    super('channel_send', `${channel}: ${message}`, { httpStatus: 502, ...options });
    this.name = 'ChannelSendError';
  }
}
