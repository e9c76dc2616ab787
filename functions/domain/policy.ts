// Runtime policy: the seed defaults and a validator for the JSON an operator keeps in SSM
// Parameter Store (or the `policy` block of a cluster in the config file). Partial policies are
// filled from DEFAULT_POLICY; any bad field is a PolicyError that names it.
import { PolicyError } from './errors.js';
import type {
  AutomationMode,
  EscalationLevel,
  EscalationTargets,
  MaintenanceWindow,
  RuntimePolicy,
  Thresholds,
} from './types.js';

export { PolicyError } from './errors.js';

export const DEFAULT_THRESHOLDS: Thresholds = {
  diskWarnPercent: 85,
  diskCriticalPercent: 90,
  lagSev3: 10_000,
  lagSev2: 100_000,
  lagSev1: 1_000_000,
  errorRateSev3: 0.01,
  errorRateSev2: 0.1,
  errorRateSev1: 0.2,
  dlqPerMinuteSev3: 10,
  dlqPerMinuteSev2: 100,
  certExpiryWarnDays: 30,
  certExpiryCriticalDays: 7,
};

/** Safe by default: a cluster nobody configured only plans (dry-run), it never mutates. */
export const DEFAULT_POLICY: RuntimePolicy = {
  mode: 'dry-run',
  maintenanceWindows: [],
  cooldownSeconds: 600,
  flapMaxHeals: 3,
  flapWindowSeconds: 3600,
  cascadeWindowSeconds: 300,
  simultaneousWindowSeconds: 60,
  blastRadiusFraction: 0.4,
  thresholds: DEFAULT_THRESHOLDS,
  autoResolveSeconds: 900,
  reopenSeconds: 1800,
  escalation: { mode: 'pagerduty', levels: [] },
};

/** Level routing keys live under this Secrets Manager prefix (the escalation Lambda may read only these). */
export const LEVEL_SECRET_PREFIX = 'kafka-heal/pagerduty/';
const LEVEL_SECRET = /^kafka-heal\/pagerduty\/[A-Za-z0-9/_+=.@-]{1,200}$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}$/;
/** Ladder positions a policy may name (the severities page at most 3). */
export const MAX_ESCALATION_LEVELS = 5;

const MODES: AutomationMode[] = ['auto', 'approval', 'dry-run', 'off'];
const TOP_KEYS = new Set([
  'mode',
  'maintenanceWindows',
  'cooldownSeconds',
  'flapMaxHeals',
  'flapWindowSeconds',
  'cascadeWindowSeconds',
  'simultaneousWindowSeconds',
  'blastRadiusFraction',
  'blastRadiusBrokers',
  'thresholds',
  'autoResolveSeconds',
  'reopenSeconds',
  'escalation',
]);

type Issue = { path: string; message: string };

export function parsePolicy(json: unknown): RuntimePolicy {
  const issues: Issue[] = [];
  let input = json;
  if (typeof input === 'string') {
    try {
      input = JSON.parse(input);
    } catch {
      throw new PolicyError([{ path: '(root)', message: 'is not valid JSON' }]);
    }
  }
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input))
    throw new PolicyError([{ path: '(root)', message: 'must be an object' }]);
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!TOP_KEYS.has(k)) issues.push({ path: k, message: 'is not a policy field' });

  const d = DEFAULT_POLICY;
  let mode = d.mode;
  if (o.mode !== undefined) {
    if (MODES.includes(o.mode as AutomationMode)) mode = o.mode as AutomationMode;
    else issues.push({ path: 'mode', message: `must be one of ${MODES.join(', ')}, got ${JSON.stringify(o.mode)}` });
  }
  const num = (path: string, v: unknown, fallback: number, check: (n: number) => boolean, rule: string): number => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) {
      issues.push({ path, message: `must be ${rule}, got ${JSON.stringify(v)}` });
      return fallback;
    }
    return v;
  };
  const wholeAtLeast = (min: number) => (n: number) => Number.isInteger(n) && n >= min;

  const policy: RuntimePolicy = {
    mode,
    maintenanceWindows: windows(o.maintenanceWindows, issues),
    cooldownSeconds: num(
      'cooldownSeconds',
      o.cooldownSeconds,
      d.cooldownSeconds,
      wholeAtLeast(0),
      'a whole number >= 0',
    ),
    flapMaxHeals: num('flapMaxHeals', o.flapMaxHeals, d.flapMaxHeals, wholeAtLeast(1), 'a whole number >= 1'),
    flapWindowSeconds: num(
      'flapWindowSeconds',
      o.flapWindowSeconds,
      d.flapWindowSeconds,
      wholeAtLeast(1),
      'a whole number >= 1',
    ),
    cascadeWindowSeconds: num(
      'cascadeWindowSeconds',
      o.cascadeWindowSeconds,
      d.cascadeWindowSeconds,
      wholeAtLeast(1),
      'a whole number >= 1',
    ),
    simultaneousWindowSeconds: num(
      'simultaneousWindowSeconds',
      o.simultaneousWindowSeconds,
      d.simultaneousWindowSeconds,
      wholeAtLeast(0),
      'a whole number >= 0',
    ),
    blastRadiusFraction: num(
      'blastRadiusFraction',
      o.blastRadiusFraction,
      d.blastRadiusFraction,
      (n) => n > 0 && n <= 1,
      'a fraction in (0, 1]',
    ),
    thresholds: { ...d.thresholds },
    autoResolveSeconds: num(
      'autoResolveSeconds',
      o.autoResolveSeconds,
      d.autoResolveSeconds,
      wholeAtLeast(0),
      'a whole number >= 0 (0: never)',
    ),
    reopenSeconds: num(
      'reopenSeconds',
      o.reopenSeconds,
      d.reopenSeconds,
      wholeAtLeast(0),
      'a whole number >= 0 (0: never)',
    ),
    escalation: escalation(o.escalation, issues),
  };
  if (policy.simultaneousWindowSeconds > policy.cascadeWindowSeconds) {
    issues.push({
      path: 'simultaneousWindowSeconds',
      message: `must not exceed cascadeWindowSeconds (${policy.cascadeWindowSeconds}), got ${policy.simultaneousWindowSeconds}`,
    });
  }
  if (o.blastRadiusBrokers !== undefined) {
    policy.blastRadiusBrokers = num(
      'blastRadiusBrokers',
      o.blastRadiusBrokers,
      1,
      wholeAtLeast(1),
      'a whole number >= 1',
    );
  }
  if (o.thresholds !== undefined) {
    if (typeof o.thresholds !== 'object' || o.thresholds === null || Array.isArray(o.thresholds)) {
      issues.push({ path: 'thresholds', message: 'must be an object' });
    } else {
      const t = o.thresholds as Record<string, unknown>;
      for (const k of Object.keys(t)) {
        if (!Object.hasOwn(d.thresholds, k)) {
          issues.push({ path: `thresholds.${k}`, message: 'is not a threshold' });
          continue;
        }
        const key = k as keyof Thresholds;
        policy.thresholds[key] = num(`thresholds.${k}`, t[k], d.thresholds[key], (n) => n >= 0, 'a number >= 0');
      }
      const th = policy.thresholds;
      const order = (path: string, lo: number, hi: number) => {
        if (!(lo < hi))
          issues.push({ path: `thresholds.${path}`, message: `must be ordered low < high, got ${lo} and ${hi}` });
      };
      order('diskWarnPercent/diskCriticalPercent', th.diskWarnPercent, th.diskCriticalPercent);
      order('lagSev3/lagSev2', th.lagSev3, th.lagSev2);
      order('lagSev2/lagSev1', th.lagSev2, th.lagSev1);
      order('errorRateSev3/errorRateSev2', th.errorRateSev3, th.errorRateSev2);
      order('errorRateSev2/errorRateSev1', th.errorRateSev2, th.errorRateSev1);
      order('dlqPerMinuteSev3/dlqPerMinuteSev2', th.dlqPerMinuteSev3, th.dlqPerMinuteSev2);
      order('certExpiryCriticalDays/certExpiryWarnDays', th.certExpiryCriticalDays, th.certExpiryWarnDays);
    }
  }
  if (issues.length > 0) throw new PolicyError(issues);
  return policy;
}

/** The `escalation` block: mode and, for `levels`, one target per level that reaches someone new. */
function escalation(v: unknown, issues: Issue[]): EscalationTargets {
  const fallback = { mode: DEFAULT_POLICY.escalation.mode, levels: [] };
  if (v === undefined) return fallback;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    issues.push({ path: 'escalation', message: 'must be an object with mode and levels' });
    return fallback;
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'mode' && k !== 'levels')
      issues.push({ path: `escalation.${k}`, message: 'is not an escalation field (mode, levels)' });
  let mode = fallback.mode;
  if (o.mode !== undefined) {
    if (o.mode === 'pagerduty' || o.mode === 'levels') mode = o.mode;
    else
      issues.push({ path: 'escalation.mode', message: `must be pagerduty or levels, got ${JSON.stringify(o.mode)}` });
  }
  const levels: EscalationLevel[] = [];
  if (o.levels !== undefined && !Array.isArray(o.levels))
    issues.push({ path: 'escalation.levels', message: 'must be an array' });
  const raw = Array.isArray(o.levels) ? (o.levels as unknown[]) : [];
  if (raw.length > MAX_ESCALATION_LEVELS)
    issues.push({
      path: 'escalation.levels',
      message: `must list at most ${MAX_ESCALATION_LEVELS} levels, got ${raw.length}`,
    });
  const seen = new Map<string, number>();
  raw.slice(0, MAX_ESCALATION_LEVELS).forEach((l, i) => {
    const path = `escalation.levels[${i}]`;
    if (typeof l !== 'object' || l === null || Array.isArray(l)) {
      issues.push({ path, message: 'must be an object with routingKeySecret or snsTopicArn' });
      return;
    }
    const r = l as Record<string, unknown>;
    for (const k of Object.keys(r))
      if (k !== 'routingKeySecret' && k !== 'snsTopicArn')
        issues.push({ path: `${path}.${k}`, message: 'is not a level field (routingKeySecret, snsTopicArn)' });
    const level: EscalationLevel = {};
    if (r.routingKeySecret !== undefined) {
      if (typeof r.routingKeySecret === 'string' && LEVEL_SECRET.test(r.routingKeySecret))
        level.routingKeySecret = r.routingKeySecret;
      else
        issues.push({
          path: `${path}.routingKeySecret`,
          message: `must be a Secrets Manager secret name under ${LEVEL_SECRET_PREFIX}, got ${JSON.stringify(r.routingKeySecret)}`,
        });
    }
    if (r.snsTopicArn !== undefined) {
      if (typeof r.snsTopicArn === 'string' && TOPIC_ARN.test(r.snsTopicArn)) level.snsTopicArn = r.snsTopicArn;
      else
        issues.push({
          path: `${path}.snsTopicArn`,
          message: `must be an SNS topic ARN, got ${JSON.stringify(r.snsTopicArn)}`,
        });
    }
    if (level.routingKeySecret !== undefined && level.snsTopicArn !== undefined)
      issues.push({ path, message: 'must name one target: routingKeySecret or snsTopicArn, not both' });
    const named = r.routingKeySecret !== undefined || r.snsTopicArn !== undefined;
    if (!named && i > 0)
      issues.push({ path, message: "must name a target: only level 1 may page the deployment's own routing key" });
    const target = level.routingKeySecret ?? level.snsTopicArn ?? (named ? undefined : '(the deployment routing key)');
    const first = target === undefined ? undefined : seen.get(target);
    if (first !== undefined)
      issues.push({ path, message: `pages the same target as level ${first + 1}, which reaches nobody new` });
    else if (target !== undefined) seen.set(target, i);
    levels.push(level);
  });
  if (mode === 'levels' && raw.length < 2)
    issues.push({
      path: 'escalation.levels',
      message: `mode levels needs at least 2 levels (level 1 and who it escalates to), got ${raw.length}`,
    });
  return { mode, levels };
}

function windows(v: unknown, issues: Issue[]): MaintenanceWindow[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    issues.push({ path: 'maintenanceWindows', message: 'must be an array' });
    return [];
  }
  const out: MaintenanceWindow[] = [];
  v.forEach((w, i) => {
    const path = `maintenanceWindows[${i}]`;
    if (typeof w !== 'object' || w === null || Array.isArray(w)) {
      issues.push({ path, message: 'must be an object with start and end' });
      return;
    }
    const r = w as Record<string, unknown>;
    const start = typeof r.start === 'string' ? Date.parse(r.start) : Number.NaN;
    const end = typeof r.end === 'string' ? Date.parse(r.end) : Number.NaN;
    if (Number.isNaN(start))
      issues.push({ path: `${path}.start`, message: `must be an ISO time, got ${JSON.stringify(r.start)}` });
    if (Number.isNaN(end))
      issues.push({ path: `${path}.end`, message: `must be an ISO time, got ${JSON.stringify(r.end)}` });
    if (!Number.isNaN(start) && !Number.isNaN(end) && end <= start)
      issues.push({ path: `${path}.end`, message: 'must be after start' });
    if (r.reason !== undefined && typeof r.reason !== 'string')
      issues.push({ path: `${path}.reason`, message: 'must be a string' });
    const win: MaintenanceWindow = { start: String(r.start), end: String(r.end) };
    if (typeof r.reason === 'string') win.reason = r.reason;
    out.push(win);
  });
  return out;
}
