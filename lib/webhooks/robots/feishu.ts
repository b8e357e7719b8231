import { createHmac } from 'node:crypto';
import { toUnixSeconds } from '../../clock.js';
import { codeOf, utf8Bytes, verdictFor, type Payload, type RobotDialect } from './dialect.js';
import { cutNote, digestHeadline, headline, sentence, type Lead } from './lead.js';

// Feishu custom bot (docs/receivers.md#feishu): the request body at most 20 KB. The budget
// leaves room for the timestamp and sign fields added when signing.
const MAX_BODY_BYTES = 20_000;
const SIGNATURE_ROOM = 128;

type Row = readonly { readonly tag: 'text'; readonly text: string }[];

const row = (text: string): Row => [{ tag: 'text', text }];

function post(title: string, rows: readonly Row[]): Payload {
  return { msg_type: 'post', content: { post: { zh_cn: { title, content: rows } } } };
}

/**
 * The documented rule: the string `timestamp + "\n" + secret` is the HMAC-SHA256 key of an
 * empty message, base64-encoded; `timestamp` is unix seconds, within an hour of Feishu's clock.
 */
export function feishuSign(secret: string, timestampSeconds: number): string {
  return createHmac('sha256', `${timestampSeconds}\n${secret}`).update('').digest('base64');
}

/** Feishu custom bot: rich-text `post` messages, signed in the body when a secret is set. */
export const feishu: RobotDialect = {
  format: 'feishu',
  single(lead: Lead, answersShown: number) {
    const rows = [
      row(`提交时间：${lead.time}`),
      ...lead.answers.slice(0, answersShown).map((a) => row(`${a.title}：${a.value}`)),
    ];
    const hidden = lead.answers.length - answersShown;
    if (hidden > 0) rows.push(row(cutNote(hidden)));
    return post(headline(lead), rows);
  },
  digest(leads: readonly Lead[]) {
    const rows = leads.map((lead, index) => row(`${index + 1}. ${sentence(lead)} ${lead.time}`));
    return post(digestHeadline(leads.length), rows);
  },
  fits: (payload) => utf8Bytes(JSON.stringify(payload)) + SIGNATURE_ROOM <= MAX_BODY_BYTES,
  request(payload, { url, secret, nowMs }) {
    if (secret === undefined) return { url, body: JSON.stringify(payload) };
    const timestamp = toUnixSeconds(nowMs);
    const signed = { timestamp: String(timestamp), sign: feishuSign(secret, timestamp) };
    return { url, body: JSON.stringify({ ...signed, ...payload }) };
  },
  verdict: (body) =>
    // Older answers carry StatusCode, newer ones code.
    verdictFor(codeOf(body, 'code', 'StatusCode'), {
      // 11232: frequency limited (over 100 a minute or 5 a second, or system pressure).
      throttle: [11232],
      pauseMs: 60_000,
      refused: {
        19001: 'the bot token is invalid or the bot was removed (19001)',
        19021: 'the signature does not match, or the timestamp is over an hour off (19021)',
        19022: "the bot's IP allowlist refused the sender (19022)",
        19024: "the message lacks the bot's required keyword (19024)",
        9499: 'the bot refused the request as malformed (9499)',
      },
    }),
};
