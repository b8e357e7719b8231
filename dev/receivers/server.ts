import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { systemClock, type Clock } from '../../lib/clock.js';
import { RollingWindow } from '../simulator/limits.js';

/** A scripted misbehaviour; each matching request uses up one of its `times` (default 1). */
export type ReceiverFault = (
  | { kind: 'down' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'status'; status: number; retryAfter?: string; location?: string }
  | { kind: 'invalidKey' }
  | { kind: 'throttle' }
) & { times?: number };

/** One request as the fake saw it. */
export interface Arrival {
  readonly at: number;
  readonly method: string;
  /** Path and query, exactly as sent. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What the fake answers. */
export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Counted under this key in `stats().rejected` when the message was not accepted. */
  readonly rejected?: string;
}

/** Counters tests read back. */
export interface ReceiverStats {
  /** Every request that reached the fake. */
  readonly requests: number;
  /** Messages the fake accepted (its success answer). */
  readonly accepted: number;
  /** Answers that refused the message, by the code or status given. */
  readonly rejected: Readonly<Record<string, number>>;
  /** Most requests that arrived in any rolling minute, and in any rolling second. */
  readonly peakPerMinute: number;
  readonly peakPerSecond: number;
}

export interface ReceiverOptions {
  readonly clock?: Clock;
  /** Told of every accepted message, as one readable line (`npm start` prints it). */
  readonly onDelivery?: (line: string) => void;
}

/**
 * A local HTTP server on 127.0.0.1 that plays an outside receiver. Subclasses answer each
 * request as the real receiver documents; this base adds scripted faults and counters.
 */
export abstract class FakeReceiver {
  /** Every request that arrived, faults included, in order. */
  readonly arrivals: Arrival[] = [];
  protected readonly clock: Clock;
  protected readonly onDelivery: ((line: string) => void) | undefined;
  readonly #faults: { fault: ReceiverFault; left: number }[] = [];
  readonly #minute = new RollingWindow(60_000);
  readonly #second = new RollingWindow(1_000);
  readonly #rejected: Record<string, number> = {};
  #requests = 0;
  #accepted = 0;
  #peakMinute = 0;
  #peakSecond = 0;
  #server: Server | undefined;
  #stopping = new AbortController();
  #url = '';

  constructor(options: ReceiverOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.onDelivery = options.onDelivery;
  }

  /** Answers a request that no fault took over. */
  protected abstract answer(arrival: Arrival): Answer | Promise<Answer>;
  /** The robot's answer to an invalid or removed key, and to a throttled sender. */
  protected abstract invalidKeyAnswer(): Answer;
  protected abstract throttleAnswer(): Answer;

  /** Listens on 127.0.0.1 (port 0 picks a free one) and resolves the base URL. */
  async start(port = 0): Promise<string> {
    if (this.#server !== undefined) throw new Error('the receiver is already started');
    this.#stopping = new AbortController();
    const server = createServer((req, res) => {
      this.#onRequest(req, res).catch(() => {
        // A fault of the fake itself: counted, so that a test sees it, and answered 500.
        this.#rejected['fake-error'] = (this.#rejected['fake-error'] ?? 0) + 1;
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP port');
    this.#server = server;
    this.#url = `http://127.0.0.1:${address.port}`;
    return this.#url;
  }

  get url(): string {
    return this.#url;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    this.#stopping.abort(new Error('the receiver stopped'));
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  }

  fault(fault: ReceiverFault): void {
    const times = fault.times ?? 1;
    if (!(times >= 1)) throw new RangeError('fault.times must be at least 1');
    this.#faults.push({ fault, left: times });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  stats(): ReceiverStats {
    return {
      requests: this.#requests,
      accepted: this.#accepted,
      rejected: { ...this.#rejected },
      peakPerMinute: this.#peakMinute,
      peakPerSecond: this.#peakSecond,
    };
  }

  /** Rolling-window counts of arrivals so far, for subclasses that enforce a rate limit. */
  protected arrivalsInLastMinute(now: number): number {
    return this.#minute.count(now);
  }

  protected arrivalsInLastSecond(now: number): number {
    return this.#second.count(now);
  }

  protected accepted(line: string): void {
    this.#accepted += 1;
    this.onDelivery?.(line);
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const now = this.clock.now();
    this.#requests += 1;
    this.#peakMinute = Math.max(this.#peakMinute, this.#minute.record(now));
    this.#peakSecond = Math.max(this.#peakSecond, this.#second.record(now));
    const arrival: Arrival = {
      at: now,
      method: req.method ?? 'GET',
      target: req.url ?? '/',
      headers: Object.fromEntries(
        Object.entries(req.headers).flatMap(([name, value]) =>
          typeof value === 'string' ? [[name, value]] : [],
        ),
      ),
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.arrivals.push(arrival);
    const fault = this.#takeFault();
    let answer: Answer | undefined;
    switch (fault?.kind) {
      case 'down':
        req.socket.destroy();
        return;
      case 'slow':
        await this.clock.sleep(fault.delayMs, this.#stopping.signal).catch(() => undefined);
        break;
      case 'status':
        answer = {
          status: fault.status,
          body: `{"error":"scripted ${fault.status}"}`,
          headers: {
            ...(fault.retryAfter !== undefined && { 'retry-after': fault.retryAfter }),
            ...(fault.location !== undefined && { location: fault.location }),
          },
          rejected: String(fault.status),
        };
        break;
      case 'invalidKey':
        answer = this.invalidKeyAnswer();
        break;
      case 'throttle':
        answer = this.throttleAnswer();
        break;
      case undefined:
        break;
    }
    answer ??= await this.answer(arrival);
    if (answer.rejected !== undefined) {
      this.#rejected[answer.rejected] = (this.#rejected[answer.rejected] ?? 0) + 1;
    }
    if (res.destroyed) return;
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(answer.body);
  }

  #takeFault(): ReceiverFault | undefined {
    const pending = this.#faults[0];
    if (pending === undefined) return undefined;
    pending.left -= 1;
    if (pending.left <= 0) this.#faults.shift();
    return pending.fault;
  }
}

/** A robot's JSON answer. */
export const json = (status: number, body: unknown, rejected?: string): Answer => ({
  status,
  body: JSON.stringify(body),
  ...(rejected !== undefined && { rejected }),
});
