/**
 * When an agent answers a message. With one person in the room it answers
 * everything; with several it answers when addressed (mentioned, replied
 * to, or a command). `!room reply-to all|mentions` overrides that per room.
 */
import type { ReplyMode } from '../rooms/room-store.ts';

export interface AnswerInput {
  mode: ReplyMode;
  /** People (not Mosaic's users) joined to the room. */
  humans: number;
  mentioned: boolean;
  repliedToUs: boolean;
  isCommand: boolean;
}

export function shouldAnswer(input: AnswerInput): boolean {
  const addressed = input.mentioned || input.repliedToUs || input.isCommand;
  if (input.mode === 'all') return true;
  if (input.mode === 'mentions') return addressed;
  return input.humans <= 1 || addressed;
}
