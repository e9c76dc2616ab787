// Is this CloudWatch alarm this stack's? Its name prefix, its marker's deployment and the event's
// account say it should be, but anyone with cloudwatch:PutMetricAlarm in the account can name an
// alarm so and write any description. What they cannot write is the `aws:cloudformation:stack-name`
// tag (the `aws:` prefix is reserved): CloudFormation puts it on every alarm this stack creates.
// Ingest reads it (cloudwatch:ListTagsForResource, only on this deployment's alarm names) before a
// CloudWatch signal goes on; an alarm of another stack, or one that no longer exists, is a
// ForeignAlarmError: kept raw, never acted on. Answers are cached per alarm for ten minutes, so
// an alarm storm costs one call per alarm, not one per event.
import {
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  type CloudWatchClient,
} from '@aws-sdk/client-cloudwatch';
import { ForeignAlarmError } from '../domain/errors.js';

export const STACK_NAME_TAG = 'aws:cloudformation:stack-name';
export const OWNER_CACHE_MS = 10 * 60_000;

/** The tags of an alarm by ARN; undefined when the alarm does not exist (any more). */
export type AlarmTagReader = (alarmArn: string) => Promise<Record<string, string> | undefined>;

export class AlarmOwnership {
  private readonly cache = new Map<string, { owner: string | undefined; at: number }>();

  constructor(
    readonly stackName: string,
    private readonly readTags: AlarmTagReader,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when `alarmArn` was created by this stack; throws ForeignAlarmError otherwise. */
  async verify(alarmArn: string | undefined, alarmName: string): Promise<void> {
    if (alarmArn === undefined)
      throw new ForeignAlarmError(`alarm ${alarmName}: the event names no alarm ARN, so its owner cannot be checked`);
    let hit = this.cache.get(alarmArn);
    if (!hit || this.now() - hit.at > OWNER_CACHE_MS) {
      const tags = await this.readTags(alarmArn);
      hit = { owner: tags?.[STACK_NAME_TAG], at: this.now() };
      this.cache.set(alarmArn, hit);
    }
    if (hit.owner !== this.stackName) {
      const whose =
        hit.owner === undefined
          ? 'has no stack-name tag (not made by CloudFormation, or deleted)'
          : `belongs to stack ${hit.owner}`;
      throw new ForeignAlarmError(`alarm ${alarmName} ${whose}, not ${this.stackName}: never acted on`);
    }
  }
}

/** Reads an alarm's tags through CloudWatch; a deleted alarm has none. */
export function cloudWatchTagReader(client: CloudWatchClient): AlarmTagReader {
  return async (arn) => {
    try {
      const out = await client.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
      return Object.fromEntries((out.Tags ?? []).flatMap((t) => (t.Key === undefined ? [] : [[t.Key, t.Value ?? '']])));
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return undefined;
      throw err;
    }
  };
}
