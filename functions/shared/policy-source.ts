// Runtime policy per cluster from SSM Parameter Store, read at decision time so an operator can
// stop the automation without a deploy. Cached for 30 s per cluster for classifying and
// correlating signals (a storm must not read SSM per signal); a decision that would act (start a
// workflow) reads it afresh (`{ fresh: true }`), so a kill switch (`off`, `dry-run`) or a new
// maintenance window is honoured by the very next such decision.
//   parameter missing       -> DEFAULT_POLICY (dry-run: plans, never mutates), logged as a warning
//   parameter unparsable    -> the safest policy: DEFAULT_POLICY with mode 'off', logged as an error
//   SSM unavailable/throttled -> the error propagates (transient: the signal is retried)
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { DEFAULT_POLICY, parsePolicy } from '../domain/policy.js';
import type { RuntimePolicy } from '../domain/types.js';

export const POLICY_CACHE_MS = 30_000;

/** Where a policy came from; `unconfigured` for a cluster this deployment does not watch (nothing is read for it). */
export type PolicyOrigin = 'ssm' | 'default' | 'fallback-off' | 'unconfigured';

export interface LoadedPolicy {
  policy: RuntimePolicy;
  origin: PolicyOrigin;
  parameterName: string;
  /** Why the policy is not the parameter's value (missing or invalid). */
  problem?: string;
}

export const SAFEST_POLICY: RuntimePolicy = { ...DEFAULT_POLICY, mode: 'off' };

/**
 * The policy of a cluster the deployment does not watch (a typo in an alert's cluster label, a
 * missing label, another team's cluster): automation off, and no parameter is read for it, since
 * the healer may read only its configured clusters' parameters (the read would be denied, and
 * the signal retried into the DLQ instead of paging).
 */
export function unconfiguredPolicy(cluster: string): LoadedPolicy {
  const seen =
    cluster === '' ? 'the signal names no cluster' : `cluster "${cluster}" is not configured in this deployment`;
  return {
    policy: SAFEST_POLICY,
    origin: 'unconfigured',
    parameterName: '(none)',
    problem: `${seen}: no runtime policy is read for it; automation off`,
  };
}

export interface PolicySource {
  /** The cluster's policy; `fresh` skips the cache (and refreshes it). */
  get(cluster: string, opts?: { fresh?: boolean }): Promise<LoadedPolicy>;
}

export function policyParameterName(prefix: string, cluster: string): string {
  return `${prefix.replace(/\/+$/, '')}/${cluster}/policy`;
}

export class SsmPolicySource implements PolicySource {
  private readonly cache = new Map<string, { at: number; value: LoadedPolicy }>();

  constructor(
    private readonly ssm: SSMClient,
    /** `/kafka-heal/<deployment>/clusters` (env POLICY_PARAMETER_PREFIX). */
    private readonly prefix: string,
    private readonly nowMs: () => number = Date.now,
    private readonly ttlMs: number = POLICY_CACHE_MS,
  ) {}

  async get(cluster: string, opts: { fresh?: boolean } = {}): Promise<LoadedPolicy> {
    const hit = this.cache.get(cluster);
    const now = this.nowMs();
    if (hit && !opts.fresh && now - hit.at < this.ttlMs) return hit.value;
    const value = await this.load(cluster);
    this.cache.set(cluster, { at: now, value });
    return value;
  }

  private async load(cluster: string): Promise<LoadedPolicy> {
    const parameterName = policyParameterName(this.prefix, cluster);
    let text: string | undefined;
    try {
      const res = await this.ssm.send(new GetParameterCommand({ Name: parameterName }));
      text = res.Parameter?.Value;
    } catch (err) {
      if (err instanceof Error && err.name === 'ParameterNotFound') {
        return {
          policy: DEFAULT_POLICY,
          origin: 'default',
          parameterName,
          problem: `parameter ${parameterName} not found; using the default policy (dry-run)`,
        };
      }
      throw err;
    }
    try {
      return { policy: parsePolicy(text ?? ''), origin: 'ssm', parameterName };
    } catch (err) {
      return {
        policy: SAFEST_POLICY,
        origin: 'fallback-off',
        parameterName,
        problem: `parameter ${parameterName} is invalid (${(err as Error).message}); automation is off until it is fixed`,
      };
    }
  }
}
