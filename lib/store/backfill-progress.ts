import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Window } from '../model.js';
import { BACKFILL_SK, formPk } from './keys.js';

/** How far a backfill of one form got, so an interrupted one resumes where it stopped. */
export interface BackfillProgress {
  /** The range being read, frozen when the backfill began (docs/guarantees.md#g3). */
  readonly window: Window;
  /** Where the next page starts. */
  readonly offset: number;
  /** Weiban's `total` for the window at the last page read. */
  readonly total?: number;
  readonly published: number;
  /** Submitters in the window that were already recorded, so not published again. */
  readonly alreadyRecorded: number;
  /** Epoch ms. */
  readonly startedAt: number;
}

// A forgotten, unfinished backfill stops being offered for resume after this long.
const KEEP_S = 30 * 86_400;

/** A backfill's progress as one item per form. It has no `submit_at`, so replay never sees it. */
export class DynamoBackfillProgress {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor({ client, tableName }: { client: DynamoDBDocumentClient; tableName: string }) {
    this.#client = client;
    this.#tableName = tableName;
  }

  async load(formId: number): Promise<BackfillProgress | undefined> {
    const out = await this.#client.send(
      new GetCommand({ TableName: this.#tableName, Key: key(formId), ConsistentRead: true }),
    );
    const item = out.Item;
    if (item === undefined) return undefined;
    return {
      window: { start: Number(item.window_start), end: Number(item.window_end) },
      offset: Number(item.offset),
      ...(typeof item.total === 'number' && { total: item.total }),
      published: Number(item.published),
      alreadyRecorded: Number(item.already_recorded),
      startedAt: Number(item.started_at),
    };
  }

  async save(formId: number, progress: BackfillProgress, now: number): Promise<void> {
    await this.#client.send(
      new PutCommand({
        TableName: this.#tableName,
        Item: {
          ...key(formId),
          form_id: formId,
          window_start: progress.window.start,
          window_end: progress.window.end,
          offset: progress.offset,
          total: progress.total,
          published: progress.published,
          already_recorded: progress.alreadyRecorded,
          started_at: progress.startedAt,
          updated_at: now,
          expires_at: Math.floor(now / 1000) + KEEP_S,
        },
      }),
    );
  }

  async clear(formId: number): Promise<void> {
    await this.#client.send(new DeleteCommand({ TableName: this.#tableName, Key: key(formId) }));
  }
}

const key = (formId: number) => ({ pk: formPk(formId), sk: BACKFILL_SK });
