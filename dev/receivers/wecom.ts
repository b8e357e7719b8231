import { json, type Answer, type Arrival } from './server.js';
import { field, RobotFake, utf8Bytes } from './robot.js';

// WeCom group robot (docs/receivers.md#wecom).
const PER_MINUTE = 20;
const MARKDOWN_BYTES = 4096;
const TEXT_BYTES = 2048;

/**
 * A WeCom group robot: POST /cgi-bin/webhook/send?key=KEY with a text or markdown message.
 * Answers HTTP 200 with `errcode`: 0 ok, 93000 invalid key, 45009 over 20 a minute, 40058
 * content too long, 40008 unknown message type, 44004 empty content.
 */
export class WecomRobotFake extends RobotFake {
  protected readonly label = 'WeCom';
  webhookUrl(): string {
    return `${this.url}/cgi-bin/webhook/send?key=${encodeURIComponent(this.key)}`;
  }

  protected answer(arrival: Arrival): Answer {
    const url = new URL(arrival.target, 'http://robot.invalid');
    if (url.pathname !== '/cgi-bin/webhook/send' || url.searchParams.get('key') !== this.key) {
      return this.invalidKeyAnswer();
    }
    if (this.arrivalsInLastMinute(arrival.at) > PER_MINUTE) return this.throttleAnswer();
    const body = this.parse(arrival);
    const type = field(body, 'msgtype');
    const content = field(body, type === 'markdown' ? 'markdown' : 'text', 'content');
    if (type !== 'markdown' && type !== 'text') {
      return json(200, { errcode: 40008, errmsg: 'invalid message type' }, '40008');
    }
    if (typeof content !== 'string' || content === '') {
      return json(200, { errcode: 44004, errmsg: 'empty content' }, '44004');
    }
    const limit = type === 'markdown' ? MARKDOWN_BYTES : TEXT_BYTES;
    if (utf8Bytes(content) > limit) {
      return json(
        200,
        { errcode: 40058, errmsg: `${type}.content exceed max length ${limit}` },
        '40058',
      );
    }
    this.keep(arrival, body, content);
    return json(200, { errcode: 0, errmsg: 'ok' });
  }

  protected invalidKeyAnswer(): Answer {
    return json(200, { errcode: 93000, errmsg: 'invalid webhook url' }, '93000');
  }

  protected throttleAnswer(): Answer {
    return json(200, { errcode: 45009, errmsg: 'api freq out of limit' }, '45009');
  }
}
