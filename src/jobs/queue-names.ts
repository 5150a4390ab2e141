/**
 * Queue names. Mosaic names its queues `mosaic:<name>` (as the admin API and
 * logs show them), but BullMQ refuses ':' in a queue name, so the part after
 * `mosaic:` is what BullMQ sees, under the key prefix `<valkey prefix>:jobs`.
 */
import { badRequest } from '../errors.ts';

export const QUEUE_NAMESPACE = 'mosaic';
const QUEUE_NAME = /^mosaic:[a-z0-9][a-z0-9-]{0,62}$/;

export function assertQueueName(name: string): string {
  if (!QUEUE_NAME.test(name)) throw badRequest(`queue name "${name}" must look like "mosaic:<lowercase-name>"`);
  return name;
}

/** The name BullMQ stores the queue under. */
export function bullQueueName(queue: string): string {
  return assertQueueName(queue).slice(QUEUE_NAMESPACE.length + 1);
}

/** Every BullMQ key of this install starts with this. */
export function bullPrefix(keyPrefix: string): string {
  return `${keyPrefix}:jobs`;
}
