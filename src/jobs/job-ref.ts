/**
 * Job ids in URLs and on the command line. A BullMQ job id is only unique
 * within its queue and queue names contain ':', so the public id is
 * base64url(`<queue>\0<job id>`): opaque, URL-safe, and it round-trips.
 */
import { badRequest } from '../errors.ts';

export interface JobAddress {
  queue: string;
  jobId: string;
}

export function encodeJobRef(address: JobAddress): string {
  return Buffer.from(`${address.queue}\u0000${address.jobId}`, 'utf8').toString('base64url');
}

export function decodeJobRef(ref: string): JobAddress {
  const invalid = () => badRequest(`"${ref}" is not a job id from the jobs API (ids are base64url of "<queue>\\0<job id>"; take them from the job list)`);
  if (!/^[A-Za-z0-9_-]+$/.test(ref)) throw invalid();
  const text = Buffer.from(ref, 'base64url').toString('utf8');
  const cut = text.indexOf('\u0000');
  if (cut <= 0 || cut === text.length - 1) throw invalid();
  // A ref that does not re-encode to itself was not made by encodeJobRef.
  const address = { queue: text.slice(0, cut), jobId: text.slice(cut + 1) };
  if (encodeJobRef(address) !== ref) throw invalid();
  return address;
}
