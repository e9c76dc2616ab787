// Runs preflight checks in order, printing each line as soon as its check answers. A check that
// throws (a bug, an SDK surprise) is a FAIL line too: preflight reports, it never crashes.
import type { Check, PreflightContext } from './checks.js';
import { credentials } from './checks.js';
import type { DeploymentPlan } from './plan.js';
import { fail, formatResult, type CheckResult } from './result.js';

export interface PreflightTally {
  PASS: number;
  WARN: number;
  FAIL: number;
}

/**
 * `plan` is only asked for once the credentials check passed (reading the stack takes a synth,
 * and with no credentials nothing else could be checked anyway).
 */
export async function runChecks(
  base: Omit<PreflightContext, 'plan'>,
  plan: () => DeploymentPlan,
  checks: Check[],
  print: (line: string) => void,
): Promise<PreflightTally> {
  const tally: PreflightTally = { PASS: 0, WARN: 0, FAIL: 0 };
  const report = (results: CheckResult[]) => {
    for (const r of results) {
      tally[r.status] += 1;
      print(formatResult(r));
    }
  };
  // Without working credentials every other check would fail the same way: stop after this one.
  const who = await guarded(credentials, base);
  report(who);
  if (who.some((r) => r.status === 'FAIL')) return tally;
  const ctx = { ...base, plan: plan() };
  for (const check of checks) report(await guarded(check, ctx));
  return tally;
}

async function guarded<C>(check: (ctx: C) => Promise<CheckResult[]>, ctx: C): Promise<CheckResult[]> {
  try {
    return await check(ctx);
  } catch (err) {
    const message = err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
    return [
      fail(check.name || 'check', `stopped unexpectedly: ${message}`, 'run preflight again; report it if it persists'),
    ];
  }
}
