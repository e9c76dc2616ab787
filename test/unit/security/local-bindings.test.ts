// Security: the local bindings other than ssm:sendCommand (hostile-alarms.test.ts covers that one)
// never hand a hostile value to a process or a file path.
//   kafka:rebootBroker   the broker id is what a drill restarts: anything but a broker id is
//                        refused as MSK refuses it, before the restart is called
//   route53 changes      record names and values are data in the zone file: a hostile name is
//                        refused (not in the zone) or stored verbatim, and no other file appears
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RESOURCES, mskBindings } from '#local/stepfunctions/bindings.js';
import { LocalZone, ROUTE53_RESOURCES, route53Bindings } from '#local/stepfunctions/route53.js';
import type { TaskCall } from '#local/stepfunctions/runtime.js';
import { HOSTILE } from './hostile-values.js';

const CLUSTER = 'arn:aws:kafka:eu-west-1:123456789012:cluster/orders/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e-1';
const call = { stateName: 'Reboot Broker' } as TaskCall;

async function refusal(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (err) {
    return (err as Error).name;
  }
  return undefined;
}

describe('kafka:rebootBroker binding', () => {
  const restarted: string[][] = [];
  const msk = mskBindings({ clusterState: () => 'ACTIVE', reboot: async (_arn, ids) => void restarted.push(ids) });
  const reboot = msk.registry[RESOURCES.kafkaRebootBroker]!;

  it.each(HOSTILE)(
    'a broker id carrying %s is refused with Kafka.BadRequestException and restarts nothing',
    async (_label, value) => {
      expect(await refusal(() => reboot({ ClusterArn: CLUSTER, BrokerIds: [value] }, call))).toBe(
        'Kafka.BadRequestException',
      );
      await msk.settled();
      expect(restarted).toEqual([]);
    },
  );

  it('a broker id restarts that broker (the check above refuses values, not the call)', async () => {
    expect(await reboot({ ClusterArn: CLUSTER, BrokerIds: ['2'] }, call)).toMatchObject({ ClusterArn: CLUSTER });
    await msk.settled();
    expect(restarted).toEqual([['2']]);
    restarted.length = 0;
  });
});

describe('route53:changeResourceRecordSets binding', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kh-zone-security-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const zone = new LocalZone({
    file: join(dir, 'zone.json'),
    hostedZoneId: 'Z0DRILL',
    zoneName: 'drill.local',
    propagationMs: 0,
    minPendingPolls: 0,
  });
  const change = route53Bindings(zone)[ROUTE53_RESOURCES.changeResourceRecordSets]!;
  const upsert = (Name: string, Value: string) =>
    change(
      {
        HostedZoneId: 'Z0DRILL',
        ChangeBatch: {
          Changes: [
            { Action: 'UPSERT', ResourceRecordSet: { Name, Type: 'TXT', TTL: 5, ResourceRecords: [{ Value }] } },
          ],
        },
      },
      { stateName: 'Switch Record' } as TaskCall,
    );

  it.each(HOSTILE)(
    'a record name or value carrying %s stays data in the zone file: no other file is written',
    async (_label, value) => {
      // As a bare name it is outside the zone (refused); inside the zone it is a record like any other.
      const outside = await refusal(() => upsert(value, 'v'));
      expect(['Route53.InvalidChangeBatchException', 'Route53.InvalidInputException']).toContain(outside);
      const inside = await refusal(() => upsert(`${value}.drill.local`, value));
      if (inside === undefined)
        expect(zone.lookup(`${value}.drill.local`, 'TXT')?.ResourceRecords).toEqual([{ Value: value }]);
      else expect(['Route53.InvalidChangeBatchException', 'Route53.InvalidInputException']).toContain(inside);
      expect(readdirSync(dir)).toEqual(['zone.json']);
    },
  );
});
