/**
 * `POST /_matrix/client/v1/appservice/{appserviceId}/ping`: the appservice
 * asks the homeserver to call its `POST /_matrix/app/v1/ping`.
 */
import { MatrixError, forbidden } from './router.ts';
import type { TestHomeserver } from './server.ts';

export function registerAppserviceApi(hs: TestHomeserver): void {
  hs.router.on('POST', '/_matrix/client/v1/appservice/{appserviceId}/ping', async (ctx) => {
    const as = hs.accounts.appserviceOf(ctx);
    if (!as) {
      hs.authenticate(ctx); // a user token: 401 if unknown, else forbidden below
      throw forbidden('Only application services can ping');
    }
    if (as.id !== ctx.params.appserviceId) throw forbidden('The appservice ID in the path does not match the access token');
    if (!as.url) throw new MatrixError(400, 'M_URL_NOT_SET', 'Application service URL is not set');
    const transactionId = (ctx.body as { transaction_id?: string } | undefined)?.transaction_id;
    const body = transactionId === undefined ? {} : { transaction_id: transactionId };
    const pusher = hs.pusher(as.id);
    const found = hs.checker.findOperation('POST', '/_matrix/app/v1/ping')!;
    hs.recordViolations(hs.checker.checkRequest(found.op, {}, new URLSearchParams(), body, 'application/json').map((v) => ({ ...v, kind: 'push' as const })));
    const started = Date.now();
    const res = await pusher.request('POST', '/_matrix/app/v1/ping', body);
    if (res === 'M_CONNECTION_TIMEOUT') throw new MatrixError(504, 'M_CONNECTION_TIMEOUT', 'Connection to application service timed out');
    if (typeof res === 'string') throw new MatrixError(502, 'M_CONNECTION_FAILED', 'Connection to application service failed');
    if (res.status !== 200) {
      throw new MatrixError(502, 'M_BAD_STATUS', 'Application service returned a non-200 status', { status: res.status, body: typeof res.body === 'string' ? res.body : JSON.stringify(res.body ?? '') });
    }
    hs.recordViolations(hs.checker.checkResponse(found.op, 200, res.body).map((v) => ({ ...v, kind: 'push-response' as const })));
    return { duration_ms: Date.now() - started };
  });
}
