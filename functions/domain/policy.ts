// Runtime policy: the seed defaults and a validator for the JSON an operator keeps in SSM
// Parameter Store (or the `policy` block of a cluster in the config file). Partial policies are
// filled from DEFAULT_POLICY; any bad field is a PolicyError that names it.
import { PolicyError } from './errors.js';
import type { AutomationMode, MaintenanceWindow, RuntimePolicy, Thresholds } from './types.js';

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
};

const MODES: AutomationMode[] = ['auto', 'approval', 'dry-run', 'off'];
const TOP_KEYS = new Set(['mode', 'maintenanceWindows', 'cooldownSeconds', 'flapMaxHeals', 'flapWindowSeconds', 'cascadeWindowSeconds', 'simultaneousWindowSeconds', 'blastRadiusFraction', 'blastRadiusBrokers', 'thresholds']);

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
  if (typeof input !== 'object' || Array.isArray(input)) throw new PolicyError([{ path: '(root)', message: 'must be an object' }]);
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
    cooldownSeconds: num('cooldownSeconds', o.cooldownSeconds, d.cooldownSeconds, wholeAtLeast(0), 'a whole number >= 0'),
    flapMaxHeals: num('flapMaxHeals', o.flapMaxHeals, d.flapMaxHeals, wholeAtLeast(1), 'a whole number >= 1'),
    flapWindowSeconds: num('flapWindowSeconds', o.flapWindowSeconds, d.flapWindowSeconds, wholeAtLeast(1), 'a whole number >= 1'),
    cascadeWindowSeconds: num('cascadeWindowSeconds', o.cascadeWindowSeconds, d.cascadeWindowSeconds, wholeAtLeast(1), 'a whole number >= 1'),
    simultaneousWindowSeconds: num('simultaneousWindowSeconds', o.simultaneousWindowSeconds, d.simultaneousWindowSeconds, wholeAtLeast(0), 'a whole number >= 0'),
    blastRadiusFraction: num('blastRadiusFraction', o.blastRadiusFraction, d.blastRadiusFraction, (n) => n > 0 && n <= 1, 'a fraction in (0, 1]'),
    thresholds: { ...d.thresholds },
  };
  if (policy.simultaneousWindowSeconds > policy.cascadeWindowSeconds) {
    issues.push({ path: 'simultaneousWindowSeconds', message: `must not exceed cascadeWindowSeconds (${policy.cascadeWindowSeconds}), got ${policy.simultaneousWindowSeconds}` });
  }
  if (o.blastRadiusBrokers !== undefined) {
    policy.blastRadiusBrokers = num('blastRadiusBrokers', o.blastRadiusBrokers, 1, wholeAtLeast(1), 'a whole number >= 1');
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
        if (!(lo < hi)) issues.push({ path: `thresholds.${path}`, message: `must be ordered low < high, got ${lo} and ${hi}` });
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
    if (Number.isNaN(start)) issues.push({ path: `${path}.start`, message: `must be an ISO time, got ${JSON.stringify(r.start)}` });
    if (Number.isNaN(end)) issues.push({ path: `${path}.end`, message: `must be an ISO time, got ${JSON.stringify(r.end)}` });
    if (!Number.isNaN(start) && !Number.isNaN(end) && end <= start) issues.push({ path: `${path}.end`, message: 'must be after start' });
    if (r.reason !== undefined && typeof r.reason !== 'string') issues.push({ path: `${path}.reason`, message: 'must be a string' });
    const win: MaintenanceWindow = { start: String(r.start), end: String(r.end) };
    if (typeof r.reason === 'string') win.reason = r.reason;
    out.push(win);
  });
  return out;
}
