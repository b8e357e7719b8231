import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { abortReason, clockTimeout, type Clock } from '../clock.js';
import { ServiceError } from '../errors.js';
import { refusal } from './address.js';
import { checkUrl } from './endpoints.js';

/** One POST to a receiver. */
export interface HttpRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What came back: an answer with a status, or why there was none. */
export type HttpResult =
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly retryAfter?: string;
      readonly location?: string;
      /** At most `maxBodyBytes` of the body. */
      readonly body: Buffer;
      readonly latencyMs: number;
    }
  | {
      readonly kind: 'failure';
      /** timeout: no answer in time; network: no connection or a cut one; refused: not sent. */
      readonly failure: 'timeout' | 'network' | 'refused';
      readonly detail: string;
      readonly latencyMs: number;
    };

/** The port the delivery uses to POST; tests may give their own. */
export interface HttpSender {
  post(request: HttpRequest, signal?: AbortSignal): Promise<HttpResult>;
}

export type Resolver = (host: string) => Promise<readonly { address: string; family: number }[]>;

const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

export interface NodeHttpSenderOptions {
  readonly clock: Clock;
  readonly allowLoopback: boolean;
  /** No answer within this long is a timeout (15 s). */
  readonly timeoutMs?: number;
  /** The most of an answer that is read (64 KB); robots answer in a few dozen bytes. */
  readonly maxBodyBytes?: number;
  readonly resolve?: Resolver;
}

/**
 * POSTs with node:http(s) and nothing between: https only (plain http to loopback in local
 * runs), no redirects followed, a 15 s timeout, at most 64 KB of the answer read. The host is
 * resolved here and every address checked; the connection goes to the checked address, so a
 * second DNS answer (rebinding) cannot send it elsewhere.
 */
export class NodeHttpSender implements HttpSender {
  readonly #o: Required<Omit<NodeHttpSenderOptions, 'resolve'>> & { resolve: Resolver };

  constructor(options: NodeHttpSenderOptions) {
    this.#o = {
      timeoutMs: 15_000,
      maxBodyBytes: 65_536,
      resolve: systemResolver,
      ...options,
    };
  }

  async post(request: HttpRequest, signal?: AbortSignal): Promise<HttpResult> {
    const started = this.#o.clock.now();
    const failure = (kind: 'timeout' | 'network' | 'refused', detail: string): HttpResult => ({
      kind: 'failure',
      failure: kind,
      detail,
      latencyMs: this.#o.clock.now() - started,
    });
    const problem = checkUrl(request.url, this.#o.allowLoopback);
    if (problem !== undefined) return failure('refused', `the URL ${problem}`);
    const url = new URL(request.url);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    let target: { address: string; family: number };
    try {
      target = await this.#checkedAddress(host);
    } catch (error: unknown) {
      return error instanceof AddressRefusedError
        ? failure('refused', error.message)
        : failure('network', `cannot resolve the host (${errorName(error)})`);
    }
    const timeout = clockTimeout(this.#o.clock, this.#o.timeoutMs);
    const abort = signal === undefined ? timeout.signal : AbortSignal.any([signal, timeout.signal]);
    try {
      const answer = await this.#send(url, target, request, abort);
      return { ...answer, latencyMs: this.#o.clock.now() - started };
    } catch (error: unknown) {
      if (timeout.signal.aborted)
        return failure('timeout', `no answer within ${this.#o.timeoutMs} ms`);
      if (signal?.aborted) throw abortReason(signal);
      return failure('network', `the request failed (${errorName(error)})`);
    } finally {
      timeout.cancel();
    }
  }

  async #checkedAddress(host: string): Promise<{ address: string; family: number }> {
    const addresses =
      isIP(host) === 0 ? await this.#o.resolve(host) : [{ address: host, family: isIP(host) }];
    if (addresses.length === 0) throw new Error('no address');
    for (const { address } of addresses) {
      const reason = refusal(address, this.#o.allowLoopback);
      if (reason !== undefined) throw new AddressRefusedError(`refused to connect: ${reason}`);
    }
    const [first] = addresses;
    if (first === undefined) throw new Error('no address');
    return first;
  }

  #send(
    url: URL,
    target: { address: string; family: number },
    request: HttpRequest,
    signal: AbortSignal,
  ): Promise<Omit<Extract<HttpResult, { kind: 'answer' }>, 'latencyMs'>> {
    const body = Buffer.from(request.body, 'utf8');
    // Every lookup Node makes for this connection answers with the address already checked.
    const lookup: LookupFunction = (_host, options, callback) => {
      if (options.all === true) callback(null, [target]);
      else callback(null, target.address, target.family);
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, {
        method: 'POST',
        headers: { ...request.headers, 'content-length': String(body.length) },
        lookup,
        agent: false,
        signal,
      });
      req.once('error', reject);
      req.once('response', (res: IncomingMessage) => {
        this.#readBody(res).then(
          (read) => {
            resolve({
              kind: 'answer',
              status: res.statusCode ?? 0,
              ...(typeof res.headers['retry-after'] === 'string' && {
                retryAfter: res.headers['retry-after'],
              }),
              ...(res.headers.location !== undefined && { location: res.headers.location }),
              body: read,
            });
          },
          (error: unknown) => {
            reject(error instanceof Error ? error : new Error('the answer was cut off'));
          },
        );
      });
      req.end(body);
    });
  }

  #readBody(res: IncomingMessage): Promise<Buffer> {
    const limit = this.#o.maxBodyBytes;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size >= limit) return;
        chunks.push(chunk.subarray(0, limit - size));
        size += Math.min(chunk.length, limit - size);
        if (size >= limit) {
          // Enough read: the rest is not wanted.
          res.destroy();
          resolve(Buffer.concat(chunks));
        }
      });
      res.once('end', () => {
        resolve(Buffer.concat(chunks));
      });
      res.once('error', (error) => {
        if (size >= limit) resolve(Buffer.concat(chunks));
        else reject(error);
      });
    });
  }
}

/** An address of the host may not be connected to. */
class AddressRefusedError extends ServiceError {}

function errorName(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error.name;
}
