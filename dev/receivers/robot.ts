import { FakeReceiver, type Answer, type Arrival, type ReceiverOptions } from './server.js';

/** One message a robot fake accepted, as the group would see it. */
export interface RobotMessage {
  readonly at: number;
  /** The message as text (markdown, or a post's title and rows). */
  readonly text: string;
  /** The JSON body as sent. */
  readonly body: unknown;
}

export interface RobotOptions extends ReceiverOptions {
  /** The credential in the robot's URL (WeCom key, Feishu hook token, DingTalk access_token). */
  readonly key: string;
  /** The signing secret, for robots that check a signature (Feishu, DingTalk). */
  readonly secret?: string;
}

/**
 * What the three robot fakes share: the key check, the messages they accepted, and the rate
 * limit counted on arrivals. Each subclass answers in its robot's own codes.
 */
export abstract class RobotFake extends FakeReceiver {
  readonly messages: RobotMessage[] = [];
  protected readonly key: string;
  protected readonly secret: string | undefined;

  constructor(options: RobotOptions) {
    super(options);
    this.key = options.key;
    this.secret = options.secret;
  }

  /** The robot's webhook URL with its key, as an operator would store it in SSM. */
  abstract webhookUrl(): string;

  /** The robot's name in printed lines. */
  protected abstract readonly label: string;

  /** Every message's text joined, to search for what the group saw. */
  transcript(): string {
    return this.messages.map((message) => message.text).join('\n---\n');
  }

  protected keep(arrival: Arrival, body: unknown, text: string): void {
    this.messages.push({ at: arrival.at, text, body });
    this.accepted(`${this.label} ${text.replace(/\n+/g, ' | ')}`);
  }

  protected parse(arrival: Arrival): unknown {
    try {
      return JSON.parse(arrival.body) as unknown;
    } catch {
      return undefined;
    }
  }

  protected abstract override answer(arrival: Arrival): Answer;
}

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

export function field(value: unknown, ...path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
