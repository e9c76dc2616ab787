// The incident timeline: append-only entries under the incident's partition
// (INCIDENT#<id> / TL#<iso>#<seq>), put-if-absent and never updated. Read with the incident
// (IncidentRepo.get); written by every part of the healer that decides or acts.
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { keys, type Item, type StoreTable } from './table.js';

export interface TimelineEntry {
  at: string;
  /** Who or what acted: `classifier`, `workflow:<name>`, `operator:<user>`, a signal source. */
  actor: string;
  /** What happened, kebab-case verb phrase: `incident-opened`, `signal-joined`, `workflow-started`... */
  action: string;
  detail?: string;
  result?: string;
  reasons?: string[];
}

/** A timeline item as stored, read back. */
export function toTimeline(item: Item): TimelineEntry {
  const e: TimelineEntry = { at: item.at as string, actor: item.actor as string, action: item.action as string };
  if (typeof item.detail === 'string') e.detail = item.detail;
  if (typeof item.result === 'string') e.result = item.result;
  if (Array.isArray(item.reasons)) e.reasons = item.reasons as string[];
  return e;
}

export class Timeline {
  private seq = 0;

  constructor(private readonly t: StoreTable) {}

  /** Appends a timeline entry; entries are put-if-absent and never updated. */
  async appendTimeline(id: string, entry: Omit<TimelineEntry, 'at'> & { at?: string }): Promise<TimelineEntry> {
    const item = this.timelineItem(id, entry);
    await this.t.client.send(
      new PutCommand({ TableName: this.t.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
    const { pk: _pk, sk: _sk, ...full } = item;
    return full;
  }

  /**
   * A timeline item: its sort key orders entries by time (then by this process's sequence). For a
   * transaction that writes a line together with the incident (the fold in record-signal.ts).
   */
  timelineItem(
    id: string,
    entry: Omit<TimelineEntry, 'at'> & { at?: string },
  ): TimelineEntry & { pk: string; sk: string } {
    const at = entry.at ?? this.t.now().toISOString();
    this.seq = (this.seq + 1) % 1_000_000;
    return {
      pk: keys.incidentPk(id),
      sk: `TL#${at}#${String(this.seq).padStart(6, '0')}-${randomUUID().slice(0, 8)}`,
      ...entry,
      at,
    };
  }
}
