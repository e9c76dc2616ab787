// The local stand-in for CloudWatch alarms: evaluates the SAME alarm specs the CDK stack deploys
// (infra/constructs/alarm-specs.ts: metric, statistic, evaluation periods, datapoints to alarm,
// comparison, threshold, missing-data treatment) over the metrics the probe publishes, and turns
// each state change into the EventBridge "CloudWatch Alarm State Change" event the ingest Lambda
// receives in AWS. Only the period is shorter: each 60 s CloudWatch period lasts
// `periodSeconds` locally (300 s periods scale alike), which the drill report states.
//
// Pure: time comes in with every call. Sources evaluated: single metrics (exact dimension set, as
// CloudWatch matches), and the Metrics Insights queries the specs use (one aggregate over a metric
// with equality filters, optionally GROUP BY one dimension). A grouped query is a
// multi-time-series alarm: each group's series (a contributor, e.g. one broker) is evaluated on
// its own, and each contributor going into or out of ALARM is its own transition and its own
// "CloudWatch Alarm Contributor State Change" event, as CloudWatch sends them; the alarm itself
// is in ALARM while any contributor is. Anything else is reported as not evaluated locally.
import { createHash } from 'node:crypto';
import type { AlarmSpec, Comparison, Statistic } from '#infra/constructs/alarm-specs.js';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** One published value, as a metric series point. */
export interface MetricSample {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  value: number;
}

/** One series of a grouped (multi-time-series) alarm: its id and its dimensions, as CloudWatch names them. */
export interface Contributor {
  id: string;
  attributes: Record<string, string>;
}

export interface AlarmTransition {
  spec: AlarmSpec;
  from: AlarmState;
  to: AlarmState;
  at: number;
  reason: string;
  /** Closed-period datapoints evaluated, oldest first (null = missing). */
  datapoints: (number | null)[];
  /** Set for a contributor's own transition (a grouped alarm's series); absent for the alarm's. */
  contributor?: Contributor;
}

/** A Metrics Insights query as the specs write them: one aggregate, equality filters, maybe grouped. */
export interface InsightsQuery {
  aggregate: 'MAX' | 'MIN' | 'AVG' | 'SUM';
  metricName: string;
  namespace: string;
  /** SCHEMA(...) dimension keys a series must have exactly; absent for a bare namespace. */
  schemaKeys?: string[];
  where: Record<string, string>;
  /** GROUP BY dimension: one contributor per value. */
  groupBy?: string;
}

export class UnsupportedQueryError extends Error {
  override readonly name = 'UnsupportedQueryError';
}

export function parseInsightsQuery(query: string): InsightsQuery {
  const m =
    /^\s*SELECT\s+(MAX|MIN|AVG|SUM)\((\w+)\)\s+FROM\s+(SCHEMA\(([^)]*)\)|([\w/]+))\s*(?:WHERE\s+(.+?))?\s*(?:GROUP\s+BY\s+"?([^"]+?)"?\s*(?:ORDER\s+BY\s+(?:MAX|MIN|AVG|SUM)\(\)\s+(?:ASC|DESC))?)?\s*$/i.exec(
      query,
    );
  if (!m) throw new UnsupportedQueryError(`cannot evaluate Metrics Insights query locally: ${query}`);
  const q: InsightsQuery = {
    aggregate: (m[1] ?? 'MAX').toUpperCase() as InsightsQuery['aggregate'],
    metricName: m[2] ?? '',
    namespace: '',
    where: {},
  };
  if (m[4] !== undefined) {
    const parts = [...m[4].matchAll(/"([^"]+)"/g)].map((x) => x[1] ?? '');
    q.namespace = parts[0] ?? '';
    q.schemaKeys = parts.slice(1);
  } else q.namespace = m[5] ?? '';
  for (const cond of (m[6] ?? '').split(/\s+AND\s+/i).filter((c) => c.trim() !== '')) {
    const c = /^\s*"?([^"=!<>]+?)"?\s*=\s*'([^']*)'\s*$/.exec(cond);
    if (!c) throw new UnsupportedQueryError(`cannot evaluate the condition "${cond}" locally`);
    q.where[c[1] ?? ''] = c[2] ?? '';
  }
  if (m[7] !== undefined) q.groupBy = m[7];
  return q;
}

function sameDimensions(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function matchingSeries(q: InsightsQuery, samples: MetricSample[]): MetricSample[] {
  return samples.filter(
    (s) =>
      s.namespace === q.namespace &&
      s.name === q.metricName &&
      Object.entries(q.where).every(([k, v]) => s.dimensions[k] === v) &&
      (q.schemaKeys === undefined ||
        (Object.keys(s.dimensions).length === q.schemaKeys.length && q.schemaKeys.every((k) => k in s.dimensions))),
  );
}

/** Values from one batch of samples that feed an ungrouped spec's series (one per matching series). */
export function valuesFor(spec: AlarmSpec, samples: MetricSample[]): number[] {
  const src = spec.source;
  if (src.type === 'metric') {
    const m = src.metric;
    return samples
      .filter(
        (s) => s.namespace === m.namespace && s.name === m.metricName && sameDimensions(s.dimensions, m.dimensions),
      )
      .map((s) => s.value);
  }
  const q = parseInsightsQuery(src.query);
  const series = matchingSeries(q, samples);
  if (series.length === 0) return [];
  return [
    aggregate(
      q.aggregate,
      series.map((s) => s.value),
    ),
  ];
}

/** A grouped spec's values from one batch of samples, per group value (the query's aggregate over each group's series). */
export function groupValuesFor(spec: AlarmSpec, samples: MetricSample[]): Map<string, number> {
  const out = new Map<string, number>();
  if (spec.source.type !== 'insights') return out;
  const q = parseInsightsQuery(spec.source.query);
  const by = q.groupBy;
  if (by === undefined) return out;
  const groups = new Map<string, number[]>();
  for (const s of matchingSeries(q, samples)) {
    const g = s.dimensions[by];
    if (g === undefined) continue;
    groups.set(g, [...(groups.get(g) ?? []), s.value]);
  }
  for (const [g, vals] of groups) out.set(g, aggregate(q.aggregate, vals));
  return out;
}

/** The id CloudWatch gives a contributor: stable for the alarm and the series (16 hex characters here). */
export function contributorId(alarmName: string, attributes: Record<string, string>): string {
  const key = Object.entries(attributes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return createHash('sha256').update(`${alarmName}|${key}`).digest('hex').slice(0, 16);
}

function aggregate(a: InsightsQuery['aggregate'], vals: number[]): number {
  switch (a) {
    case 'MAX':
      return Math.max(...vals);
    case 'MIN':
      return Math.min(...vals);
    case 'SUM':
      return vals.reduce((x, y) => x + y, 0);
    case 'AVG':
      return vals.reduce((x, y) => x + y, 0) / vals.length;
  }
}

export function statistic(stat: Statistic, vals: number[]): number {
  switch (stat) {
    case 'Maximum':
      return Math.max(...vals);
    case 'Minimum':
      return Math.min(...vals);
    case 'Sum':
      return vals.reduce((x, y) => x + y, 0);
    case 'Average':
      return vals.reduce((x, y) => x + y, 0) / vals.length;
    case 'SampleCount':
      return vals.length;
  }
}

export function breaches(comparison: Comparison, value: number, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
  }
}

function specStatistic(spec: AlarmSpec): Statistic {
  // Insights queries aggregate per sample already; the period statistic follows the query.
  if (spec.source.type === 'metric') return spec.source.metric.statistic;
  const a = parseInsightsQuery(spec.source.query).aggregate;
  return a === 'MIN' ? 'Minimum' : a === 'SUM' ? 'Sum' : a === 'AVG' ? 'Average' : 'Maximum';
}

/** One series of a grouped alarm: its dimensions, its periods, its own state (OK until it breaches). */
interface TrackedContributor {
  contributor: Contributor;
  buckets: Map<number, number[]>;
  state: 'OK' | 'ALARM';
}

interface Tracked {
  spec: AlarmSpec;
  periodMs: number;
  graceMs: number;
  stat: Statistic;
  state: AlarmState;
  /** Period index -> values seen in it. */
  buckets: Map<number, number[]>;
  firstBucket: number;
  /** The GROUP BY dimension of a multi-time-series alarm, and its series by group value. */
  groupBy?: string;
  contributors: Map<string, TrackedContributor>;
}

export interface EvaluatorOptions {
  /** Local seconds standing for one 60 s CloudWatch period. */
  periodSeconds: number;
  /** When evaluation starts (ms); periods before it do not exist. */
  startMs: number;
  /**
   * Alarms whose CloudWatch window is 10 minutes or more exist to ignore blips (e.g. URP while a
   * broker restarts); their local window is at least this many seconds, so a restart that takes
   * real seconds stays a blip. Default 0 (plain scaling).
   */
  sustainedWindowSeconds?: number;
  /**
   * Alarms on the metadata quorum and the controller (quorum-lost, controller-missing): a leader
   * election takes real seconds (a hung KRaft leader is replaced after the followers' 2 s fetch
   * timeout and a vote), which AWS's one-minute periods never see twice in a row but two 2 s
   * local periods do. Their local window is at least this many seconds. Default 0.
   */
  electionWindowSeconds?: number;
  /** A period is evaluated this fraction of a period after it ends, so late samples still count. Default 0. */
  graceFraction?: number;
}

/** CloudWatch windows at least this long are "sustained" alarms (see sustainedWindowSeconds). */
export const SUSTAINED_WINDOW_SECONDS = 600;

/** Local period (ms) for a spec: scaled from CloudWatch's, with the floor for sustained alarms. */
export function localPeriodMs(
  spec: Pick<AlarmSpec, 'periodSeconds' | 'evaluationPeriods'> & Partial<Pick<AlarmSpec, 'alarmKind'>>,
  opts: Pick<EvaluatorOptions, 'periodSeconds' | 'sustainedWindowSeconds' | 'electionWindowSeconds'>,
): number {
  let seconds = (spec.periodSeconds / 60) * opts.periodSeconds;
  if (spec.periodSeconds * spec.evaluationPeriods >= SUSTAINED_WINDOW_SECONDS)
    seconds = Math.max(seconds, (opts.sustainedWindowSeconds ?? 0) / spec.evaluationPeriods);
  if (spec.alarmKind === 'quorum-lost' || spec.alarmKind === 'controller-missing')
    seconds = Math.max(seconds, (opts.electionWindowSeconds ?? 0) / spec.evaluationPeriods);
  return Math.max(1, Math.round(seconds * 1000));
}

/**
 * CloudWatch alarm evaluation over local samples. Feed `observe()` every probe run's samples,
 * call `evaluate()` on a timer: it closes finished periods and returns state changes.
 */
export class AlarmEvaluator {
  private readonly tracked: Tracked[] = [];
  /** Specs that cannot be evaluated locally, with why. */
  readonly skipped: { alarmName: string; reason: string }[] = [];

  constructor(specs: AlarmSpec[], opts: EvaluatorOptions) {
    for (const spec of specs) {
      let groupBy: string | undefined;
      try {
        if (spec.source.type === 'insights') groupBy = parseInsightsQuery(spec.source.query).groupBy;
      } catch (err) {
        this.skipped.push({ alarmName: spec.alarmName, reason: (err as Error).message });
        continue;
      }
      const periodMs = localPeriodMs(spec, opts);
      this.tracked.push({
        spec,
        periodMs,
        graceMs: Math.round(periodMs * (opts.graceFraction ?? 0)),
        stat: specStatistic(spec),
        state: 'INSUFFICIENT_DATA',
        buckets: new Map(),
        firstBucket: Math.floor(opts.startMs / periodMs),
        ...(groupBy === undefined ? {} : { groupBy }),
        contributors: new Map(),
      });
    }
  }

  get specs(): AlarmSpec[] {
    return this.tracked.map((t) => t.spec);
  }

  state(alarmName: string): AlarmState | undefined {
    return this.tracked.find((t) => t.spec.alarmName === alarmName)?.state;
  }

  /** A grouped alarm's series by group value (e.g. broker id): its state, OK until it breaches. */
  contributorState(alarmName: string, group: string): 'OK' | 'ALARM' | undefined {
    return this.tracked.find((t) => t.spec.alarmName === alarmName)?.contributors.get(group)?.state;
  }

  private contributorOf(t: Tracked, group: string): TrackedContributor {
    let c = t.contributors.get(group);
    if (!c) {
      const attributes = { [t.groupBy as string]: group };
      c = {
        contributor: { id: contributorId(t.spec.alarmName, attributes), attributes },
        buckets: new Map(),
        state: 'OK',
      };
      t.contributors.set(group, c);
    }
    return c;
  }

  /** Samples whose datapoint time is `atMs` (EMF: when they were published). */
  observe(atMs: number, samples: MetricSample[]): void {
    for (const t of this.tracked) {
      if (t.groupBy !== undefined) {
        for (const [group, v] of groupValuesFor(t.spec, samples)) {
          const c = this.contributorOf(t, group);
          const b = Math.floor(atMs / t.periodMs);
          c.buckets.set(b, [...(c.buckets.get(b) ?? []), v]);
        }
        continue;
      }
      const vals = valuesFor(t.spec, samples);
      if (vals.length === 0) continue;
      const b = Math.floor(atMs / t.periodMs);
      const bucket = t.buckets.get(b) ?? [];
      bucket.push(...vals);
      t.buckets.set(b, bucket);
    }
  }

  /** The last `n` closed periods of `buckets` before `current`: datapoints and how many breach. */
  private window(
    t: Tracked,
    buckets: Map<number, number[]>,
    current: number,
    missingBreaches: boolean,
  ): { datapoints: (number | null)[]; breaching: number } {
    const n = t.spec.evaluationPeriods;
    const datapoints: (number | null)[] = [];
    let breaching = 0;
    for (let b = current - n; b < current; b++) {
      const vals = buckets.get(b);
      if (!vals || vals.length === 0) {
        datapoints.push(null);
        if (missingBreaches) breaching++;
        continue;
      }
      const v = statistic(t.stat, vals);
      datapoints.push(v);
      if (breaches(t.spec.comparison, v, t.spec.threshold)) breaching++;
    }
    for (const b of buckets.keys()) if (b < current - n) buckets.delete(b);
    return { datapoints, breaching };
  }

  private reason(
    t: Tracked,
    breaching: number,
    datapoints: (number | null)[],
    from: AlarmState,
    to: AlarmState,
  ): string {
    const shown = datapoints.map((d) => (d === null ? 'missing' : String(d))).join(', ');
    const n = t.spec.evaluationPeriods;
    return `Threshold Crossed: ${breaching} out of the last ${n} datapoints [${shown}] ${to === 'ALARM' ? 'were' : 'were not'} breaching the threshold (${t.spec.threshold}) (minimum ${t.spec.datapointsToAlarm} datapoints for ${from} -> ${to} transition).`;
  }

  /** Closes every period that ended by `nowMs` and returns the alarms (and contributors) whose state changed. */
  evaluate(nowMs: number): AlarmTransition[] {
    const out: AlarmTransition[] = [];
    for (const t of this.tracked) {
      const current = Math.floor((nowMs - t.graceMs) / t.periodMs);
      // Not enough closed periods yet since evaluation began.
      if (current - t.firstBucket < t.spec.evaluationPeriods) continue;
      if (t.groupBy !== undefined) {
        // A series exists only while it has data: missing periods never breach a contributor.
        for (const c of t.contributors.values()) {
          const { datapoints, breaching } = this.window(t, c.buckets, current, false);
          const next = breaching >= t.spec.datapointsToAlarm ? 'ALARM' : 'OK';
          if (next === c.state) continue;
          out.push({
            spec: t.spec,
            from: c.state,
            to: next,
            at: nowMs,
            reason: contributorReason(t.spec, next, breaching, datapoints, nowMs),
            datapoints,
            contributor: c.contributor,
          });
          c.state = next;
        }
        const parent: AlarmState = [...t.contributors.values()].some((c) => c.state === 'ALARM') ? 'ALARM' : 'OK';
        if (parent !== t.state) {
          const inAlarm = [...t.contributors.values()].filter((c) => c.state === 'ALARM').length;
          out.push({
            spec: t.spec,
            from: t.state,
            to: parent,
            at: nowMs,
            reason: `${inAlarm} out of ${t.contributors.size} time series evaluated to ALARM`,
            datapoints: [],
          });
          t.state = parent;
        }
        continue;
      }
      const { datapoints, breaching } = this.window(t, t.buckets, current, t.spec.treatMissingData === 'breaching');
      const next: AlarmState = breaching >= t.spec.datapointsToAlarm ? 'ALARM' : 'OK';
      if (next !== t.state) {
        out.push({
          spec: t.spec,
          from: t.state,
          to: next,
          at: nowMs,
          reason: this.reason(t, breaching, datapoints, t.state, next),
          datapoints,
        });
        t.state = next;
      }
    }
    return out;
  }

  /**
   * Puts an alarm into ALARM now, whatever the data says (a stale or spurious alarm); for a grouped
   * alarm, the contributor of `group` (e.g. a broker id), and the alarm with it. The next
   * evaluation returns it to OK when the data does not breach.
   */
  force(match: (spec: AlarmSpec) => boolean, nowMs: number, why: string, group?: string): AlarmTransition[] {
    const out: AlarmTransition[] = [];
    for (const t of this.tracked) {
      if (!match(t.spec)) continue;
      const datapoints = [t.spec.comparison === 'LessThanThreshold' ? t.spec.threshold - 1 : t.spec.threshold + 1];
      if (t.groupBy !== undefined) {
        if (group === undefined) continue;
        const c = this.contributorOf(t, group);
        if (c.state === 'ALARM') continue;
        out.push({
          spec: t.spec,
          from: 'OK',
          to: 'ALARM',
          at: nowMs,
          reason: why,
          datapoints,
          contributor: c.contributor,
        });
        c.state = 'ALARM';
      }
      if (t.state === 'ALARM') continue;
      out.push({
        spec: t.spec,
        from: t.state,
        to: 'ALARM',
        at: nowMs,
        reason: why,
        datapoints: t.groupBy === undefined ? datapoints : [],
      });
      t.state = 'ALARM';
    }
    return out;
  }
}

const COMPARISON_TEXT: Record<Comparison, string> = {
  GreaterThanThreshold: 'greater than',
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  LessThanThreshold: 'less than',
};

/** CloudWatch's timestamp in a contributor reason: dd/MM/yy HH:mm:ss (UTC). */
function reasonTime(ms: number): string {
  const d = new Date(ms).toISOString();
  return `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(2, 4)} ${d.slice(11, 19)}`;
}

/** A contributor's state reason, worded as CloudWatch words it (the normalizer reads the datapoint back). */
function contributorReason(
  spec: AlarmSpec,
  to: 'OK' | 'ALARM',
  breaching: number,
  datapoints: (number | null)[],
  at: number,
): string {
  const last = [...datapoints].reverse().find((d) => d !== null);
  const n = `${breaching} datapoint${breaching === 1 ? ' was' : 's were'}`;
  if (to === 'ALARM') {
    const crossed = [...datapoints].reverse().find((d) => d !== null && breaches(spec.comparison, d, spec.threshold));
    return `Threshold Crossed: ${n} ${COMPARISON_TEXT[spec.comparison]} the threshold (${spec.threshold}). The most recent datapoint which crossed the threshold: [${String(crossed ?? last)} (${reasonTime(at)})].`;
  }
  return `Threshold Crossed: ${n} ${COMPARISON_TEXT[spec.comparison]} the threshold (${spec.threshold}), fewer than the ${spec.datapointsToAlarm} that alarm. The most recent datapoint: [${last === undefined ? 'none' : String(last)} (${reasonTime(at)})].`;
}

/**
 * The EventBridge event CloudWatch sends for a state change (what the ingest Lambda receives): an
 * alarm's "CloudWatch Alarm State Change", or a grouped alarm contributor's "CloudWatch Alarm
 * Contributor State Change" (its id and attributes, the state with its reason, no reason data).
 */
export function alarmStateChangeEvent(
  tr: AlarmTransition,
  opts: { region: string; account: string },
): Record<string, unknown> {
  const spec = tr.spec;
  const arn = `arn:aws:cloudwatch:${opts.region}:${opts.account}:alarm:${spec.alarmName}`;
  const time = new Date(tr.at).toISOString();
  const src = spec.source;
  const metrics =
    src.type === 'metric'
      ? [
          {
            id: 'm1',
            metricStat: {
              metric: {
                namespace: src.metric.namespace,
                name: src.metric.metricName,
                dimensions: src.metric.dimensions,
              },
              period: spec.periodSeconds,
              stat: src.metric.statistic,
            },
            returnData: true,
          },
        ]
      : [{ id: 'q1', expression: src.query, label: src.label, period: spec.periodSeconds, returnData: true }];
  const envelope = {
    version: '0',
    account: opts.account,
    time,
    region: opts.region,
    resources: [arn],
    source: 'aws.cloudwatch',
  };
  if (tr.contributor) {
    return {
      ...envelope,
      id: `${spec.alarmName}-${tr.contributor.id}-${tr.at}`,
      'detail-type': 'CloudWatch Alarm Contributor State Change',
      detail: {
        alarmName: spec.alarmName,
        alarmContributor: { id: tr.contributor.id, attributes: tr.contributor.attributes },
        state: { value: tr.to, reason: tr.reason, timestamp: time },
        configuration: { metrics, description: spec.description },
      },
    };
  }
  const last = tr.datapoints.filter((d): d is number => d !== null);
  return {
    ...envelope,
    id: `${spec.alarmName}-${tr.at}`,
    'detail-type': 'CloudWatch Alarm State Change',
    detail: {
      alarmName: spec.alarmName,
      configuration: { description: spec.description, metrics },
      previousState: { value: tr.from, timestamp: time },
      state: {
        value: tr.to,
        reason: tr.reason,
        reasonData: JSON.stringify({
          version: '1.0',
          queryDate: time,
          statistic: specStatistic(spec),
          period: spec.periodSeconds,
          recentDatapoints: last,
          threshold: spec.threshold,
        }),
        timestamp: time,
      },
    },
  };
}
