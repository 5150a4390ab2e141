/**
 * Minimal content repository: upload (`POST /_matrix/media/v3/upload`) and
 * authenticated download (`GET /_matrix/client/v1/media/download/...`), so
 * `mxc://` URLs in tests resolve to the bytes that were uploaded.
 */
import { randomBytes } from 'node:crypto';
import { MatrixError, Reply, notFound } from './router.ts';
import type { TestHomeserver } from './server.ts';

export interface StoredMedia {
  mediaId: string;
  contentType: string;
  filename?: string;
  data: Buffer;
  uploader: string;
}

export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

export class MediaStore {
  readonly items = new Map<string, StoredMedia>();

  put(data: Buffer, contentType: string, uploader: string, filename?: string): StoredMedia {
    const item: StoredMedia = { mediaId: randomBytes(12).toString('base64url'), contentType, data, uploader, filename };
    this.items.set(item.mediaId, item);
    return item;
  }
}

export function registerMediaApi(hs: TestHomeserver): void {
  const r = hs.router;
  r.on('POST', '/_matrix/media/v3/upload', (ctx) => {
    const who = hs.authenticate(ctx);
    const data = Buffer.isBuffer(ctx.body) ? ctx.body : ctx.rawBody;
    if (data.length > MAX_UPLOAD_BYTES) throw new MatrixError(413, 'M_TOO_LARGE', 'Upload is too large');
    const item = hs.media.put(data, String(ctx.headers['content-type'] ?? 'application/octet-stream'), who.userId, ctx.query.get('filename') ?? undefined);
    return { content_uri: `mxc://${hs.serverName}/${item.mediaId}` };
  });
  r.on('GET', '/_matrix/client/v1/media/config', (ctx) => {
    hs.authenticate(ctx);
    return { 'm.upload.size': MAX_UPLOAD_BYTES };
  });
  const download = (ctx: Parameters<Parameters<typeof r.on>[2]>[0]) => {
    hs.authenticate(ctx);
    const { serverName, mediaId } = ctx.params;
    const item = serverName === hs.serverName ? hs.media.items.get(mediaId!) : undefined;
    if (!item) throw notFound('Not found');
    const name = ctx.params.fileName ?? item.filename;
    const headers: Record<string, string> = { 'content-security-policy': "sandbox; default-src 'none';" };
    if (name) headers['content-disposition'] = `attachment; filename*=utf-8''${encodeURIComponent(name)}`;
    return new Reply(200, item.data, item.contentType, headers);
  };
  r.on('GET', '/_matrix/client/v1/media/download/{serverName}/{mediaId}', download);
  r.on('GET', '/_matrix/client/v1/media/download/{serverName}/{mediaId}/{fileName}', download);
}
