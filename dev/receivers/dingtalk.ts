import { createHmac } from 'node:crypto';
import { json, type Answer, type Arrival } from './server.js';
import { field, RobotFake, utf8Bytes, type RobotOptions } from './robot.js';

// DingTalk custom robot (docs/receivers.md#dingtalk).
const PER_MINUTE = 20;
const BLOCK_MS = 10 * 60_000;
const SIGN_WINDOW_MS = 3_600_000;
// Not documented: a limit reported for the robot by clients; a fake's choice (docs/receivers.md).
const BODY_BYTES = 20_000;

export interface DingtalkOptions extends RobotOptions {
  /** The robot's keyword check: a message must contain one of these. */
  readonly keywords?: readonly string[];
}

/**
 * A DingTalk custom robot: POST /robot/send?access_token=TOKEN, with `timestamp` (ms) and
 * `sign` in the query when the robot has a secret. Answers HTTP 200 with `errcode`: 0 ok,
 * 300001 unknown token, 310000 failed security check (signature, timestamp, keyword),
 * 410100 over 20 a minute (then every message for 10 minutes), 460101 too long.
 */
export class DingtalkRobotFake extends RobotFake {
  protected readonly label = 'DingTalk';
  readonly #keywords: readonly string[] | undefined;
  #blockedUntil = 0;

  constructor(options: DingtalkOptions) {
    super(options);
    this.#keywords = options.keywords;
  }

  webhookUrl(): string {
    return `${this.url}/robot/send?access_token=${encodeURIComponent(this.key)}`;
  }

  protected answer(arrival: Arrival): Answer {
    const url = new URL(arrival.target, 'http://robot.invalid');
    if (url.pathname !== '/robot/send' || url.searchParams.get('access_token') !== this.key) {
      return this.invalidKeyAnswer();
    }
    const now = arrival.at;
    if (now < this.#blockedUntil) return this.throttleAnswer();
    if (this.arrivalsInLastMinute(now) > PER_MINUTE) {
      this.#blockedUntil = now + BLOCK_MS;
      return this.throttleAnswer();
    }
    if (this.secret !== undefined) {
      const problem = this.#signature(url.searchParams, now);
      if (problem !== undefined) return json(200, { errcode: 310000, errmsg: problem }, '310000');
    }
    if (utf8Bytes(arrival.body) > BODY_BYTES) {
      return json(200, { errcode: 460101, errmsg: 'message too long' }, '460101');
    }
    const body = this.parse(arrival);
    const text = readable(body);
    if (text === undefined) return json(200, { errcode: 40035, errmsg: '缺少参数 json' }, '40035');
    if (this.#keywords !== undefined && !this.#keywords.some((word) => text.includes(word))) {
      return json(200, { errcode: 310000, errmsg: 'keywords not in content' }, '310000');
    }
    this.keep(arrival, body, text);
    return json(200, { errcode: 0, errmsg: 'ok' });
  }

  protected invalidKeyAnswer(): Answer {
    return json(200, { errcode: 300001, errmsg: 'token is not exist' }, '300001');
  }

  protected throttleAnswer(): Answer {
    return json(
      200,
      { errcode: 410100, errmsg: 'send too fast, exceed 20 times per minute' },
      '410100',
    );
  }

  /** The documented rule, written here independently of the service's code. */
  #signature(query: URLSearchParams, nowMs: number): string | undefined {
    const timestamp = Number(query.get('timestamp'));
    const sign = query.get('sign');
    if (!Number.isInteger(timestamp) || sign === null) return 'sign not match';
    if (Math.abs(nowMs - timestamp) > SIGN_WINDOW_MS) return 'invalid timestamp';
    const mac = createHmac('sha256', Buffer.from(this.secret ?? '', 'utf8'));
    mac.update(Buffer.from(`${String(timestamp)}\n${this.secret ?? ''}`, 'utf8'));
    return mac.digest('base64') === sign ? undefined : 'sign not match';
  }
}

/** A markdown message's title and text, or a text message's content. */
function readable(body: unknown): string | undefined {
  const type = field(body, 'msgtype');
  if (type === 'markdown') {
    const title = field(body, 'markdown', 'title');
    const text = field(body, 'markdown', 'text');
    return typeof title === 'string' && typeof text === 'string' && text !== '' ? text : undefined;
  }
  if (type === 'text') {
    const content = field(body, 'text', 'content');
    return typeof content === 'string' && content !== '' ? content : undefined;
  }
  return undefined;
}
