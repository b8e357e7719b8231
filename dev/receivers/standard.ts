import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { FakeReceiver, json, type Answer, type Arrival, type ReceiverOptions } from './server.js';

/** One delivery the receiver verified. */
export interface StandardDelivery {
  readonly id: string;
  readonly timestamp: number;
  /** How many `v1,` signatures the header carried (two during a rotation). */
  readonly signatures: number;
  readonly body: string;
  readonly event: unknown;
  readonly userAgent: string;
}

export interface StandardReceiverOptions extends ReceiverOptions {
  /** The secret(s) the receiver trusts; any one verifying is enough, as during a rotation. */
  readonly secrets: readonly string[];
  /** Answers 429 when more than this many arrive in a rolling minute. */
  readonly perMinute?: number;
}

/**
 * A consumer's endpoint that checks every delivery with the official `standardwebhooks`
 * package, not with the service's own code: signature, timestamp tolerance (5 minutes, on the
 * receiver's clock) and the required headers. A delivery that does not verify gets 400.
 */
export class StandardReceiver extends FakeReceiver {
  readonly deliveries: StandardDelivery[] = [];
  /** Why each refused delivery did not verify. */
  readonly refusals: string[] = [];
  readonly #hooks: Webhook[];
  readonly #perMinute: number | undefined;

  constructor(options: StandardReceiverOptions) {
    super(options);
    this.#hooks = options.secrets.map((secret) => new Webhook(secret));
    this.#perMinute = options.perMinute;
  }

  /** The distinct `webhook-id`s verified so far. */
  ids(): Set<string> {
    return new Set(this.deliveries.map((delivery) => delivery.id));
  }

  protected answer(arrival: Arrival): Answer {
    if (this.#perMinute !== undefined && this.arrivalsInLastMinute(arrival.at) > this.#perMinute) {
      return { ...json(429, { error: 'slow down' }, '429'), headers: { 'retry-after': '60' } };
    }
    const problem = this.#verify(arrival);
    if (problem !== undefined) {
      this.refusals.push(problem);
      return json(400, { error: problem }, 'invalid-signature');
    }
    const id = arrival.headers['webhook-id'] ?? '';
    const event: unknown = JSON.parse(arrival.body);
    this.deliveries.push({
      id,
      timestamp: Number(arrival.headers['webhook-timestamp']),
      signatures: (arrival.headers['webhook-signature'] ?? '').split(' ').length,
      body: arrival.body,
      event,
      userAgent: arrival.headers['user-agent'] ?? '',
    });
    this.accepted(`standard ${id} verified (${arrival.body.length} bytes)`);
    return json(200, { ok: true });
  }

  protected invalidKeyAnswer(): Answer {
    return json(401, { error: 'unknown endpoint' }, '401');
  }

  protected throttleAnswer(): Answer {
    return { ...json(429, { error: 'slow down' }, '429'), headers: { 'retry-after': '30' } };
  }

  #verify(arrival: Arrival): string | undefined {
    if (arrival.method !== 'POST') return `method ${arrival.method}`;
    if (arrival.headers['content-type'] !== 'application/json') return 'content-type';
    const headers = {
      'webhook-id': arrival.headers['webhook-id'] ?? '',
      'webhook-timestamp': arrival.headers['webhook-timestamp'] ?? '',
      'webhook-signature': arrival.headers['webhook-signature'] ?? '',
    };
    let last = 'no secret';
    for (const hook of this.#hooks) {
      try {
        this.#onClock(() => hook.verify(arrival.body, headers));
        return undefined;
      } catch (error: unknown) {
        if (!(error instanceof WebhookVerificationError)) throw error;
        last = error.message;
      }
    }
    return last;
  }

  /**
   * The package checks the timestamp against Date.now(). Tests move a virtual clock hours
   * ahead, so "now" is the receiver's clock while the (synchronous) check runs.
   */
  #onClock<T>(check: () => T): T {
    const realNow = Date.now;
    const now = this.clock.now();
    Date.now = () => now;
    try {
      return check();
    } finally {
      Date.now = realNow;
    }
  }
}
