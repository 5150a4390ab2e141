/**
 * The REST API as the terminal client calls it: bearer token, JSON, errors
 * in the API's one shape thrown as ApiError; a server that cannot be reached
 * is one clear ClientError.
 */
import { ApiError, unreachable } from './errors.ts';

export class RestClient {
  constructor(
    readonly server: string,
    private readonly token: string | null,
  ) {}

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.server}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw unreachable(this.server, cause?.code ?? cause?.message ?? (err as Error).message);
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: described by the status below.
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string } } | null)?.error;
      const message = e?.message ?? `${res.status} ${res.statusText}`;
      throw new ApiError(res.status, e?.code ?? `http_${res.status}`, res.status === 401 ? `${message}: sign in again with \`mosaic login\`` : message);
    }
    return json as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }
}
