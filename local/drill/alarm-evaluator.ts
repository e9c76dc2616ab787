// The local stand-in for CloudWatch alarms: evaluates the SAME alarm specs the CDK stack deploys
// (infra/constructs/alarm-specs.ts: metric, statistic, evaluation periods, datapoints to alarm,
// comparison, threshold, missing-data treatment) over the metrics the probe publishes, and turns
// each state change into the EventBridge "CloudWatch Alarm State Change" event the ingest Lambda
// receives in AWS. Only the period is shorter: each 60 s CloudWatch period lasts
// `periodSeconds` locally (300 s periods scale alike), which the drill report states.
//
// Pure: time comes in with every call. Sources evaluated: single metrics (exact dimension set, as
// CloudWatch matches), and the Metrics Insights queries the specs use (MAX/MIN over a metric with
// equality filters). Metric math (CPU of MSK brokers) is not evaluated locally and is reported.
import type { AlarmSpec, Comparison, Statistic } from '../../infra/constructs/alarm-specs.js';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** One published value, as a metric series point. */
export interface MetricSample {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  value: number;
}

export interface AlarmTransition {
  spec: AlarmSpec;
  from: AlarmState;
  to: AlarmState;
  at: number;
  reason: string;
  /** Closed-period datapoints evaluated, oldest first (null = missing). */
  datapoints: (number | null)[];
}

/** A Metrics Insights query as the specs write them: one aggregate, equality filters. */
export interface InsightsQuery {
  aggregate: 'MAX' | 'MIN' | 'AVG' | 'SUM';
  metricName: string;
  namespace: string;
  /** SCHEMA(...) dimension keys a series must have exactly; absent for a bare namespace. */
  schemaKeys?: string[];
  where: Record<string, string>;
}

export class UnsupportedQueryError extends Error {
  override readonly name = 'UnsupportedQueryError';
}

export function parseInsightsQuery(query: string): InsightsQuery {
  const m = /^\s*SELECT\s+(MAX|MIN|AVG|SUM)\((\w+)\)\s+FROM\s+(SCHEMA\(([^)]*)\)|([\w/]+))\s*(?:WHERE\s+(.+))?$/i.exec(query);
  if (!m) throw new UnsupportedQueryError(`cannot evaluate Metrics Insights query locally: ${query}`);
  const q: InsightsQuery = { aggregate: (m[1] ?? 'MAX').toUpperCase() as InsightsQuery['aggregate'], metricName: m[2] ?? '', namespace: '', where: {} };
  if (m[4] !== undefined) {
    const parts = [...m[4].matchAll(/"([^"]+)"/g)].map((x) => x[1] ?? '');
    q.namespace = parts[0] ?? '';
    q.schemaKeys = parts.slice(1);
  } else q.namespace = m[5] ?? '';
  for (const cond of (m[6] ?? '').split(/\s+AND\s+/i).filter((c) => c.trim() !== '')) {
    const c = /^\s*"?([^"=]+?)"?\s*=\s*'([^']*)'\s*$/.exec(cond);
    if (!c) throw new UnsupportedQueryError(`cannot evaluate the condition "${cond}" locally`);
    q.where[c[1] ?? ''] = c[2] ?? '';
  }
  return q;
}

function sameDimensions(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** Values from one batch of samples that feed the spec's series (one per matching series). */
export function valuesFor(spec: AlarmSpec, samples: MetricSample[]): number[] {
  const src = spec.source;
  if (src.type === 'metric') {
    const m = src.metric;
    return samples.filter((s) => s.namespace === m.namespace && s.name === m.metricName && sameDimensions(s.dimensions, m.dimensions)).map((s) => s.value);
  }
  if (src.type === 'insights') {
    const q = parseInsightsQuery(src.query);
    const series = samples.filter(
      (s) =>
        s.namespace === q.namespace &&
        s.name === q.metricName &&
        Object.entries(q.where).every(([k, v]) => s.dimensions[k] === v) &&
        (q.schemaKeys === undefined || (Object.keys(s.dimensions).length === q.schemaKeys.length && q.schemaKeys.every((k) => k in s.dimensions))),
    );
    if (series.length === 0) return [];
    const vals = series.map((s) => s.value);
    return [aggregate(q.aggregate, vals)];
  }
  throw new UnsupportedQueryError(`metric math (${src.expression}) is not evaluated locally`);
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
  if (spec.source.type === 'insights') {
    const a = parseInsightsQuery(spec.source.query).aggregate;
    return a === 'MIN' ? 'Minimum' : a === 'SUM' ? 'Sum' : a === 'AVG' ? 'Average' : 'Maximum';
  }
  return 'Maximum';
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
  /** A period is evaluated this fraction of a period after it ends, so late samples still count. Default 0. */
  graceFraction?: number;
}

/** CloudWatch windows at least this long are "sustained" alarms (see sustainedWindowSeconds). */
export const SUSTAINED_WINDOW_SECONDS = 600;

/** Local period (ms) for a spec: scaled from CloudWatch's, with the floor for sustained alarms. */
export function localPeriodMs(spec: Pick<AlarmSpec, 'periodSeconds' | 'evaluationPeriods'>, opts: Pick<EvaluatorOptions, 'periodSeconds' | 'sustainedWindowSeconds'>): number {
  let seconds = (spec.periodSeconds / 60) * opts.periodSeconds;
  if (spec.periodSeconds * spec.evaluationPeriods >= SUSTAINED_WINDOW_SECONDS) seconds = Math.max(seconds, (opts.sustainedWindowSeconds ?? 0) / spec.evaluationPeriods);
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
      try {
        if (spec.source.type === 'math') throw new UnsupportedQueryError(`metric math (${spec.source.expression}) is not evaluated locally`);
        if (spec.source.type === 'insights') parseInsightsQuery(spec.source.query);
      } catch (err) {
        this.skipped.push({ alarmName: spec.alarmName, reason: (err as Error).message });
        continue;
      }
      const periodMs = localPeriodMs(spec, opts);
      this.tracked.push({ spec, periodMs, graceMs: Math.round(periodMs * (opts.graceFraction ?? 0)), stat: specStatistic(spec), state: 'INSUFFICIENT_DATA', buckets: new Map(), firstBucket: Math.floor(opts.startMs / periodMs) });
    }
  }

  get specs(): AlarmSpec[] {
    return this.tracked.map((t) => t.spec);
  }

  state(alarmName: string): AlarmState | undefined {
    return this.tracked.find((t) => t.spec.alarmName === alarmName)?.state;
  }

  /** Samples whose datapoint time is `atMs` (EMF: when they were published). */
  observe(atMs: number, samples: MetricSample[]): void {
    for (const t of this.tracked) {
      const vals = valuesFor(t.spec, samples);
      if (vals.length === 0) continue;
      const b = Math.floor(atMs / t.periodMs);
      const bucket = t.buckets.get(b) ?? [];
      bucket.push(...vals);
      t.buckets.set(b, bucket);
    }
  }

  /** Closes every period that ended by `nowMs` and returns the alarms whose state changed. */
  evaluate(nowMs: number): AlarmTransition[] {
    const out: AlarmTransition[] = [];
    for (const t of this.tracked) {
      const current = Math.floor((nowMs - t.graceMs) / t.periodMs);
      const n = t.spec.evaluationPeriods;
      // Not enough closed periods yet since evaluation began.
      if (current - t.firstBucket < n) continue;
      const datapoints: (number | null)[] = [];
      let breaching = 0;
      for (let b = current - n; b < current; b++) {
        const vals = t.buckets.get(b);
        if (!vals || vals.length === 0) {
          datapoints.push(null);
          if (t.spec.treatMissingData === 'breaching') breaching++;
          continue;
        }
        const v = statistic(t.stat, vals);
        datapoints.push(v);
        if (breaches(t.spec.comparison, v, t.spec.threshold)) breaching++;
      }
      for (const b of t.buckets.keys()) if (b < current - n) t.buckets.delete(b);
      const next: AlarmState = breaching >= t.spec.datapointsToAlarm ? 'ALARM' : 'OK';
      if (next !== t.state) {
        const shown = datapoints.map((d) => (d === null ? 'missing' : String(d))).join(', ');
        const reason = `Threshold Crossed: ${breaching} out of the last ${n} datapoints [${shown}] ${next === 'ALARM' ? 'were' : 'were not'} breaching the threshold (${t.spec.threshold}) (minimum ${t.spec.datapointsToAlarm} datapoints for ${t.state} -> ${next} transition).`;
        out.push({ spec: t.spec, from: t.state, to: next, at: nowMs, reason, datapoints });
        t.state = next;
      }
    }
    return out;
  }

  /**
   * Puts an alarm into ALARM now, whatever the data says (a stale or spurious alarm). The next
   * evaluation returns it to OK when the data does not breach.
   */
  force(match: (spec: AlarmSpec) => boolean, nowMs: number, why: string): AlarmTransition[] {
    const out: AlarmTransition[] = [];
    for (const t of this.tracked) {
      if (!match(t.spec) || t.state === 'ALARM') continue;
      out.push({ spec: t.spec, from: t.state, to: 'ALARM', at: nowMs, reason: why, datapoints: [t.spec.comparison === 'LessThanThreshold' ? t.spec.threshold - 1 : t.spec.threshold + 1] });
      t.state = 'ALARM';
    }
    return out;
  }
}

/** The EventBridge event CloudWatch sends for a state change (what the ingest Lambda receives). */
export function alarmStateChangeEvent(tr: AlarmTransition, opts: { region: string; account: string }): Record<string, unknown> {
  const spec = tr.spec;
  const arn = `arn:aws:cloudwatch:${opts.region}:${opts.account}:alarm:${spec.alarmName}`;
  const time = new Date(tr.at).toISOString();
  const src = spec.source;
  const metrics =
    src.type === 'metric'
      ? [{ id: 'm1', metricStat: { metric: { namespace: src.metric.namespace, name: src.metric.metricName, dimensions: src.metric.dimensions }, period: spec.periodSeconds, stat: src.metric.statistic }, returnData: true }]
      : src.type === 'insights'
        ? [{ id: 'q1', expression: src.query, label: src.label, period: spec.periodSeconds, returnData: true }]
        : [{ id: 'e1', expression: src.expression, label: src.label, returnData: true }];
  const last = tr.datapoints.filter((d): d is number => d !== null);
  return {
    version: '0',
    id: `${spec.alarmName}-${tr.at}`,
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: opts.account,
    time,
    region: opts.region,
    resources: [arn],
    detail: {
      alarmName: spec.alarmName,
      configuration: { description: spec.description, metrics },
      previousState: { value: tr.from, timestamp: time },
      state: {
        value: tr.to,
        reason: tr.reason,
        reasonData: JSON.stringify({ version: '1.0', queryDate: time, statistic: specStatistic(spec), period: spec.periodSeconds, recentDatapoints: last, threshold: spec.threshold }),
        timestamp: time,
      },
    },
  };
}
