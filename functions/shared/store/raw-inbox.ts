// Input that could not be normalized, kept with the reason (RAW#<yyyy-mm-dd> / <iso>#<uuid>,
// TTL 30 days): nothing is dropped silently.
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DAY, epochSeconds, keys, type StoreTable } from './table.js';

export const RAW_TTL_SECONDS = 30 * DAY;
/** DynamoDB items are capped at 400 KB; raw bodies are cut here to leave room for the rest. */
export const RAW_BODY_MAX_BYTES = 350 * 1024;

export interface RawInput {
  source: string;
  body: string;
  error: string;
  errorName?: string;
  receivedAt: string;
}

/** Cuts a string to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): { text: string; truncated: boolean; bytes: number } {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return { text, truncated: false, bytes: buf.length };
  let end = maxBytes;
  // Step back over UTF-8 continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return { text: buf.subarray(0, end).toString('utf8'), truncated: true, bytes: buf.length };
}

export class RawInbox {
  constructor(private readonly t: StoreTable) {}

  /** Keeps input that could not be normalized, with the reason, for 30 days. */
  async storeRaw(raw: RawInput): Promise<{ pk: string; sk: string; truncated: boolean }> {
    const cut = truncateUtf8(raw.body, RAW_BODY_MAX_BYTES);
    const pk = keys.raw(raw.receivedAt.slice(0, 10));
    const sk = `${raw.receivedAt}#${randomUUID()}`;
    await this.t.client.send(
      new PutCommand({
        TableName: this.t.tableName,
        Item: {
          pk,
          sk,
          source: raw.source,
          error: raw.error.slice(0, 4000),
          ...(raw.errorName ? { errorName: raw.errorName } : {}),
          receivedAt: raw.receivedAt,
          body: cut.text,
          bodyBytes: cut.bytes,
          truncated: cut.truncated,
          expiresAt: epochSeconds(this.t.now()) + RAW_TTL_SECONDS,
        },
      }),
    );
    return { pk, sk, truncated: cut.truncated };
  }
}
