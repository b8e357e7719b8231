import { messageAttributes, type FormEvent, type FormEventData } from '../events.js';
import type { OutgoingMessage } from '../ports.js';

/** SNS: a message, attributes included, is at most 256 KiB. */
export const SNS_MAX_BYTES = 262_144;

/** The bytes SNS counts for a message: its body and every attribute's name, type and value. */
export function messageBytes(message: Pick<OutgoingMessage, 'body' | 'attributes'>): number {
  let size = Buffer.byteLength(message.body);
  for (const [name, value] of Object.entries(message.attributes)) {
    size += Buffer.byteLength(name) + value.DataType.length + Buffer.byteLength(value.StringValue);
  }
  return size;
}

/**
 * The message for an event, cut down to fit SNS's size limit when it must be.
 * Why cut rather than fail: a message SNS refuses would be retried forever and hold the
 * form's cursor back; a flagged, shortened event still tells the consumer who submitted.
 */
export function toMessage(event: FormEvent, maxBytes: number = SNS_MAX_BYTES): OutgoingMessage {
  const attributes = messageAttributes(event);
  const budget = maxBytes - messageBytes({ body: '', attributes }) - 512;
  let body = serialize(event);
  if (Buffer.byteLength(body) > budget) body = serialize(shrink(event, budget));
  return { id: event.id, body, attributes };
}

// SNS and SQS accept only XML-legal characters; JSON escapes the rest except U+FFFE/U+FFFF.
function serialize(event: FormEvent): string {
  return JSON.stringify(event).replace(
    /[\uFFFE\uFFFF]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16)}`,
  );
}

// Identity fields are never cut: consumers must always be able to tell who submitted.
const KEEP = new Set(['form_id', 'u_id', 'status', 'submit_at', 'external_user_id', 'unionid']);
const SHORTEST_CUT = 64;

/**
 * Finds the longest string cap that fits, and if even short strings do not fit, the largest
 * share of every list (answers) to keep. Binary searches: a few dozen serializations at most.
 */
function shrink(event: FormEvent, budget: number): FormEvent {
  const fits = (candidate: FormEvent) => Buffer.byteLength(serialize(candidate)) <= budget;
  const cut = (maxChars: number, keepShare: number): FormEvent => ({
    ...event,
    truncated: true,
    data: { ...(trimTree(event.data, maxChars, keepShare, true) as FormEventData) },
  });
  const longest = longestString(event.data);
  if (fits(cut(SHORTEST_CUT, 1))) {
    let [low, high] = [SHORTEST_CUT, longest];
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (fits(cut(mid, 1))) low = mid;
      else high = mid - 1;
    }
    return cut(low, 1);
  }
  let [low, high] = [0, 1024];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(cut(SHORTEST_CUT, mid / 1024))) low = mid;
    else high = mid - 1;
  }
  return cut(SHORTEST_CUT, low / 1024);
}

function trimTree(value: unknown, maxChars: number, keepShare: number, top = false): unknown {
  if (typeof value === 'string') return value.length > maxChars ? cutText(value, maxChars) : value;
  if (Array.isArray(value)) {
    return value
      .slice(0, Math.ceil(value.length * keepShare))
      .map((item) => trimTree(item, maxChars, keepShare));
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => [
        key,
        top && KEEP.has(key) ? child : trimTree(child, maxChars, keepShare),
      ]),
    );
  }
  return value;
}

function longestString(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value))
    return value.reduce((max: number, item) => Math.max(max, longestString(item)), 0);
  if (typeof value === 'object' && value !== null) {
    return Object.values(value).reduce(
      (max: number, item) => Math.max(max, longestString(item)),
      0,
    );
  }
  return 0;
}

function cutText(text: string, length: number): string {
  const end = /[\uD800-\uDBFF]/.test(text.charAt(length - 1)) ? length - 1 : length;
  return `${text.slice(0, end)}…`;
}
