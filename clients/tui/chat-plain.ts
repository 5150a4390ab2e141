/**
 * `mosaic chat`: one message, its answer streamed to standard output as it
 * is written, and the routing line (model, provider, rule, reason, tokens,
 * cost) on standard error — so `mosaic chat "…" > answer.md` keeps just the
 * answer. The exit code says how it ended (errors.ts EXIT).
 */
import { RestClient } from './api.ts';
import { ClientError, EXIT, describe, type ExitCode } from './errors.ts';
import { LiveClient, LiveError } from './live.ts';
import { fromFrame, receiptLine, type ChatMessage, type Conversation, type Frame } from './types.ts';

export interface PlainChatOptions {
  server: string;
  token: string;
  conversationId?: string;
  message: string;
  timeoutMs: number;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** Conversation ids `chat` created or used, for `--continue` next time. */
  remember?: (id: string) => void;
}

export async function runPlainChat(o: PlainChatOptions): Promise<ExitCode> {
  const rest = new RestClient(o.server, o.token);
  let conversationId = o.conversationId;
  if (!conversationId) {
    const created = await rest.post<Conversation>('/api/conversations', {});
    conversationId = created.id;
    o.err.write(`conversation ${conversationId}\n`);
  }
  o.remember?.(conversationId);
  const live = new LiveClient(o.server, o.token, { persistent: false });
  let maxSeq: number | undefined;
  try {
    await live.start();
    return await new Promise<ExitCode>((resolve, reject) => {
      let messageId: string | null = null;
      let replyId: string | null = null;
      let shown = '';
      let step = 0;
      let finalReply: ChatMessage | null = null;
      let streaming = false;
      const early: Frame[] = [];
      let stopping = false;
      const finish = (code: ExitCode) => {
        clearTimeout(timer);
        clearInterval(watch);
        process.off('SIGINT', onInterrupt);
        resolve(code);
      };
      // The connection ended for good (token refused, server gone) while waiting.
      const watch = setInterval(() => {
        if (live.status !== 'ended') return;
        clearInterval(watch);
        clearTimeout(timer);
        process.off('SIGINT', onInterrupt);
        reject(live.endedBy ?? new ClientError('the connection ended', EXIT.unreachable));
      }, 100);
      const timer = setTimeout(() => {
        o.err.write(`mosaic: no answer within ${Math.round(o.timeoutMs / 1000)} s (it may still come: \`mosaic chat --conversation ${conversationId} …\` continues)\n`);
        finish(EXIT.timeout);
      }, o.timeoutMs);
      const onInterrupt = () => {
        if (stopping || !messageId) return finish(EXIT.stopped);
        stopping = true;
        o.err.write('\nstopping…\n');
        live.request({ type: 'stop', conversationId }).catch(() => finish(EXIT.stopped));
      };
      process.on('SIGINT', onInterrupt);
      const write = (text: string) => {
        o.out.write(text);
        shown += text;
      };
      const done = (reply: ChatMessage) => {
        if (!shown && reply.content) write(reply.content);
        if (shown && !shown.endsWith('\n')) o.out.write('\n');
        o.err.write(`— ${receiptLine(reply)}\n`);
        finish(EXIT.ok);
      };
      const handle = (f: Frame) => {
        if (f.conversationId !== conversationId) return;
        if (f.type === 'message:new' && typeof f.seq === 'number') maxSeq = Math.max(maxSeq ?? 0, f.seq);
        if (!messageId) {
          early.push(f);
          return;
        }
        switch (f.type) {
          case 'answer:started':
            if (f.replyTo !== messageId) return;
            replyId = f.replyId as string;
            streaming = true;
            step = 0;
            // Mid-answer (after a reconnect) it carries what was written so far: show what we had not.
            if (typeof f.text === 'string' && f.text.startsWith(shown)) write(f.text.slice(shown.length));
            return;
          case 'answer:delta':
            if (f.replyId !== replyId || typeof f.text !== 'string' || !f.text) return;
            if (typeof f.step === 'number' && f.step !== step) {
              // A new model call after tool calls: its text is the answer from here on.
              if (step !== 0 && shown && !shown.endsWith('\n')) write('\n');
              step = f.step;
            }
            write(f.text);
            return;
          case 'message:new': {
            const m = fromFrame(f);
            if (m.replyToId !== messageId) return;
            if (m.role === 'assistant') finalReply = m;
            else if (m.role === 'system') {
              o.err.write(`mosaic: no answer: ${m.content}\n`);
              finish(EXIT.noAnswer);
            }
            return;
          }
          case 'answer:final':
            if (f.replyTo === messageId && finalReply) done(finalReply);
            return;
          case 'answer:stopped':
            if (f.replyTo !== messageId) return;
            if (shown && !shown.endsWith('\n')) o.out.write('\n');
            o.err.write('— stopped\n');
            finish(EXIT.stopped);
            return;
          case 'answer:failed':
            if (f.replyTo !== messageId) return;
            o.err.write(`mosaic: no answer: ${String(f.notice ?? 'the answer failed')}\n`);
            finish(EXIT.noAnswer);
            return;
          case 'subscribed':
            // A resubscribe's replay is in: a stored reply with no answer being written is the final one.
            if (finalReply && !streaming) done(finalReply);
            return;
        }
      };
      live.on((f) => {
        if (f.type === 'answer:final' || f.type === 'answer:stopped' || f.type === 'answer:failed') streaming = false;
        handle(f);
      });
      live
        .follow(conversationId, () => maxSeq)
        .then((ack) => {
          if (ack && typeof ack.lastSeq === 'number') maxSeq = Math.max(maxSeq ?? 0, ack.lastSeq);
          const clientMessageId = `cli-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
          return live.request({ type: 'send', conversationId, content: o.message, clientMessageId });
        })
        .then((result) => {
          const command = result.command as { name: string; text: string } | null;
          if (command) {
            o.out.write(`${command.text}\n`);
            return finish(EXIT.ok);
          }
          messageId = result.messageId as string;
          for (const f of early.splice(0)) handle(f);
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          clearInterval(watch);
          process.off('SIGINT', onInterrupt);
          reject(err instanceof LiveError ? new ClientError(err.code === 'not_found' ? `conversation ${conversationId} not found (list yours with \`mosaic tui\`)` : err.message, err.code === 'offline' ? EXIT.unreachable : EXIT.failure, err.code) : err);
        });
      // The connection ended for good (token refused, server gone) while waiting.
    });
  } catch (err) {
    throw err instanceof ClientError ? err : new ClientError(describe(err));
  } finally {
    live.stop();
  }
}
