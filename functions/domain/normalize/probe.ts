// Results of the healer's own probe (functions/shared/probe), published as events of this shape
// (directly, or as the `detail` of an EventBridge event with source "kafka-heal.probe"):
//
//   {
//     "source": "kafka-heal.probe",
//     "cluster": "orders",                       // configured cluster name (or an alias)
//     "observedAt": "2026-11-22T02:00:00.000Z",  // when the probe looked
//     "findings": [
//       { "kind": "broker-down", "brokerIds": [2], "state": "firing" },
//       { "kind": "consumer-lag", "brokerIds": [], "state": "firing",
//         "value": 250000, "threshold": 100000, "consumerGroup": "billing", "topic": "orders" }
//     ]
//   }
//
// kind is a SignalKind, state "firing" | "resolved"; value/threshold/consumerGroup/topic are
// optional. Each finding becomes one Signal; its fingerprint is the probe, cluster, kind,
// brokers, group and topic, so the same finding from the next probe run joins the same incident.
import { MalformedEventError } from '../errors.js';
import type { Signal, SignalState } from '../types.js';
import {
  LIMITS,
  brokerId,
  isoTime,
  makeSignal,
  numeric,
  optionalString,
  requireArray,
  requireObject,
  requireString,
  resolveCluster,
  signalKind,
  type NormalizeContext,
  type Obj,
} from './common.js';

export const PROBE_SOURCE = 'kafka-heal.probe';

export interface ProbeFinding {
  kind: string;
  brokerIds: number[];
  state: SignalState;
  value?: number;
  threshold?: number;
  consumerGroup?: string;
  topic?: string;
}

export interface ProbeResultEvent {
  source: typeof PROBE_SOURCE;
  cluster: string;
  observedAt: string;
  findings: ProbeFinding[];
}

export function normalizeProbe(raw: Obj, ctx: NormalizeContext): Signal[] {
  const where = 'probe event';
  const body = raw.detail !== undefined ? requireObject(raw.detail, 'detail', where) : raw;
  const clusterSeen = requireString(body.cluster, 'cluster', where, LIMITS.cluster);
  const cluster = resolveCluster(clusterSeen, ctx.clusters);
  const observedAt = isoTime(body.observedAt);
  if (observedAt === undefined) throw new MalformedEventError(`${where}: observedAt must be an ISO 8601 time`);
  const findings = requireArray(body.findings, 'findings', where);
  return findings.map((x, i) => {
    const f = `findings[${i}]`;
    const finding = requireObject(x, f, where);
    const kind = signalKind(finding.kind, `${f}.kind`, where);
    if (finding.state !== 'firing' && finding.state !== 'resolved') {
      throw new MalformedEventError(`${where}: ${f}.state must be "firing" or "resolved"`);
    }
    const ids = finding.brokerIds === undefined ? [] : requireArray(finding.brokerIds, `${f}.brokerIds`, where, 10_000);
    const brokerIds = ids.map((b, j) => brokerId(b, `${f}.brokerIds[${j}]`, where));
    const consumerGroup = optionalString(finding.consumerGroup, `${f}.consumerGroup`, where, LIMITS.labelValue);
    const topic = optionalString(finding.topic, `${f}.topic`, where, LIMITS.labelValue);
    const value = optionalNumber(finding.value, `${f}.value`, where);
    const threshold = optionalNumber(finding.threshold, `${f}.threshold`, where);
    const sorted = [...new Set(brokerIds)].sort((a, b) => a - b);
    const labels: Record<string, string> = {};
    return makeSignal({
      source: 'probe',
      cluster,
      kind,
      brokerIds,
      state: finding.state,
      value,
      threshold,
      consumerGroup,
      topic,
      observedAt,
      name: `probe:${kind}`,
      fingerprint: `probe|${cluster}|${kind}|${sorted.join(',')}|${consumerGroup ?? ''}|${topic ?? ''}`,
      labels,
    });
  });
}

function optionalNumber(v: unknown, field: string, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = numeric(v);
  if (n === undefined) throw new MalformedEventError(`${where}: ${field} must be a number`);
  return n;
}
