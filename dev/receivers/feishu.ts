import { createHmac } from 'node:crypto';
import { json, type Answer, type Arrival } from './server.js';
import { field, RobotFake, utf8Bytes, type RobotOptions } from './robot.js';

// Feishu custom bot (docs/receivers.md#feishu).
const PER_MINUTE = 100;
const PER_SECOND = 5;
const BODY_BYTES = 20 * 1024;
const SIGN_WINDOW_S = 3_600;

export interface FeishuOptions extends RobotOptions {
  /** The bot's keyword check: a message must contain one of these. */
  readonly keywords?: readonly string[];
}

/**
 * A Feishu custom bot: POST /open-apis/bot/v2/hook/TOKEN with a text or post message, and
 * `timestamp` + `sign` in the body when the bot has a secret. Answers HTTP 200 with `code`:
 * 0 ok, 19001 invalid token, 19021 bad signature or timestamp over an hour off, 19024 no
 * keyword, 11232 frequency limited (over 100 a minute or 5 a second), 9499 bad request.
 */
export class FeishuBotFake extends RobotFake {
  protected readonly label = 'Feishu';
  readonly #keywords: readonly string[] | undefined;

  constructor(options: FeishuOptions) {
    super(options);
    this.#keywords = options.keywords;
  }

  webhookUrl(): string {
    return `${this.url}/open-apis/bot/v2/hook/${encodeURIComponent(this.key)}`;
  }

  protected answer(arrival: Arrival): Answer {
    if (arrival.target !== `/open-apis/bot/v2/hook/${encodeURIComponent(this.key)}`) {
      return this.invalidKeyAnswer();
    }
    const now = arrival.at;
    if (
      this.arrivalsInLastMinute(now) > PER_MINUTE ||
      this.arrivalsInLastSecond(now) > PER_SECOND
    ) {
      return this.throttleAnswer();
    }
    if (utf8Bytes(arrival.body) > BODY_BYTES) return badRequest('request body too large');
    const body = this.parse(arrival);
    if (this.secret !== undefined && !this.#signed(body, now)) {
      return json(
        200,
        {
          code: 19021,
          msg: 'sign match fail or timestamp is not within one hour from current time',
          data: {},
        },
        '19021',
      );
    }
    const text = readable(body);
    if (text === undefined) return badRequest('fail to parse content');
    if (this.#keywords !== undefined && !this.#keywords.some((word) => text.includes(word))) {
      return json(200, { code: 19024, msg: 'Key Words Not Found', data: {} }, '19024');
    }
    this.keep(arrival, body, text);
    return json(200, {
      StatusCode: 0,
      StatusMessage: 'success',
      code: 0,
      msg: 'success',
      data: {},
    });
  }

  protected invalidKeyAnswer(): Answer {
    return json(
      200,
      { code: 19001, msg: 'param invalid: incoming webhook access token invalid', data: {} },
      '19001',
    );
  }

  protected throttleAnswer(): Answer {
    return json(200, { code: 11232, msg: 'frequency limited', data: {} }, '11232');
  }

  /** The documented rule, written here independently of the service's code. */
  #signed(body: unknown, nowMs: number): boolean {
    const timestamp = Number(field(body, 'timestamp'));
    const sign = field(body, 'sign');
    if (!Number.isInteger(timestamp) || typeof sign !== 'string') return false;
    if (Math.abs(nowMs / 1000 - timestamp) > SIGN_WINDOW_S) return false;
    const stringToSign = `${String(timestamp)}\n${this.secret ?? ''}`;
    return createHmac('sha256', Buffer.from(stringToSign, 'utf8')).digest('base64') === sign;
  }
}

const badRequest = (why: string): Answer =>
  json(200, { code: 9499, msg: `Bad Request: ${why}`, data: {} }, '9499');

/** A text message's text, or a post's title and rows; undefined when the shape is wrong. */
function readable(body: unknown): string | undefined {
  const type = field(body, 'msg_type');
  if (type === 'text') {
    const text = field(body, 'content', 'text');
    return typeof text === 'string' && text !== '' ? text : undefined;
  }
  if (type !== 'post') return undefined;
  const post = field(body, 'content', 'post', 'zh_cn');
  const title = field(post, 'title');
  const rows = field(post, 'content');
  if (typeof title !== 'string' || !Array.isArray(rows)) return undefined;
  const lines = rows.map((cells: unknown) =>
    Array.isArray(cells)
      ? cells
          .map((cell: unknown) =>
            field(cell, 'tag') === 'text' ? String(field(cell, 'text')) : '',
          )
          .join('')
      : '',
  );
  return [title, ...lines].join('\n');
}
