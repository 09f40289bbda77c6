import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { BotReply } from './interactions';
import { APP_ID } from './state';

/**
 * Slack's side of Socket Mode. apps.connections.open hands the app a one-use WebSocket URL on the
 * workspace's own server; Slack greets the connection with "hello", then sends every command,
 * interaction and event as an envelope and waits for the app to ack its envelope_id, the ack's payload
 * being the response (a command's message, a view submission's response_action) as an HTTP ack body is.
 * The app pings and expects pongs (@slack/socket-mode drops a connection that misses them); `ws` answers
 * pings by itself.
 */

type Json = Record<string, unknown>;

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface SocketEnvelope {
  envelope_id: string;
  type: EnvelopeType;
  payload: Json;
  accepts_response_payload: boolean;
  /** The app's ack, once it came (`payload` is what it answered with, `{}` for a bare ack). */
  ack?: { payload?: Json };
}

/** What a person sees as Slack's timeout: no ack within the wait (or the connection went first). */
export const NO_ACK_STATUS = 408;

const PATH = '/link/';

export class SocketMode {
  readonly envelopes: SocketEnvelope[] = [];
  private readonly server = new WebSocketServer({ noServer: true });
  private readonly tickets = new Set<string>();
  private readonly waiting = new Map<string, { socket: WebSocket; settle: (ack?: { payload?: Json }) => void }>();

  constructor(private readonly baseUrl: () => string) {}

  /** apps.connections.open: a URL that admits one connection. */
  open(): string {
    const ticket = randomBytes(16).toString('hex');
    this.tickets.add(ticket);
    return `${this.baseUrl().replace(/^http/, 'ws')}${PATH}?ticket=${ticket}&app_id=${APP_ID}`;
  }

  /** The HTTP server's "upgrade": only a ticket apps.connections.open issued (and nobody used) gets in. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== PATH || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    this.server.handleUpgrade(req, socket, head, (ws) => this.connected(ws));
  }

  get connections(): number {
    return [...this.server.clients].filter((ws) => ws.readyState === WebSocket.OPEN).length;
  }

  /** Sends an envelope on the newest connection and resolves with the ack as a BotReply (200 and the payload as the body). */
  deliver(type: EnvelopeType, payload: Json, timeoutMs: number): Promise<BotReply> {
    const socket = [...this.server.clients].reverse().find((ws) => ws.readyState === WebSocket.OPEN);
    if (!socket) return Promise.reject(new Error('The bot has no Socket Mode connection open'));
    const envelope: SocketEnvelope = {
      envelope_id: randomUUID(),
      type,
      payload,
      // Slack takes a response in the ack only where an HTTP ack body means something.
      accepts_response_payload:
        type === 'slash_commands' || (type === 'interactive' && payload.type === 'view_submission'),
    };
    this.envelopes.push(envelope);
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(), timeoutMs);
      const settle = (ack?: { payload?: Json }) => {
        clearTimeout(timer);
        this.waiting.delete(envelope.envelope_id);
        if (!ack) return resolve({ status: NO_ACK_STATUS, body: '' });
        const answered = ack.payload && Object.keys(ack.payload).length > 0;
        resolve({ status: 200, body: answered ? JSON.stringify(ack.payload) : '' });
      };
      this.waiting.set(envelope.envelope_id, { socket, settle });
      socket.send(
        JSON.stringify(type === 'events_api' ? { ...envelope, retry_attempt: 0, retry_reason: '' } : envelope),
      );
    });
  }

  close(): void {
    for (const ws of this.server.clients) ws.terminate();
    this.server.close();
  }

  private connected(ws: WebSocket): void {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let message: { envelope_id?: unknown; payload?: Json };
      try {
        message = JSON.parse(String(data)) as typeof message;
      } catch {
        return;
      }
      const envelope = this.envelopes.find((e) => e.envelope_id === message.envelope_id);
      if (!envelope) return;
      envelope.ack = { payload: message.payload };
      this.waiting.get(envelope.envelope_id)?.settle(envelope.ack);
    });
    // An envelope whose connection is gone will never be acked.
    ws.on('close', () => {
      for (const [, wait] of this.waiting) if (wait.socket === ws) wait.settle();
    });
    ws.send(JSON.stringify({ type: 'hello', num_connections: this.connections, connection_info: { app_id: APP_ID } }));
  }
}
