// Runtime policy in SSM Parameter Store: one String parameter per cluster,
//   /kafka-heal/<deployment>/clusters/<cluster>/policy
// holding the JSON of the cluster's initial RuntimePolicy: the config file's `policy` block with
// every default filled by the same parsePolicy the classifier uses (mode dry-run unless set,
// seed thresholds, maintenanceWindows []). The classify Lambda reads it at decision time, so an
// operator can switch a cluster to `off` (or `dry-run`) with one put-parameter and no deploy.
//
// Note for operators: a later `cdk deploy` writes the config file's value back. Keep the
// config's `policy` block in step with what you set by hand, or change it there.
import { ParameterTier, StringParameter } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { parsePolicy } from '#domain/policy.js';
import { policyParameterName } from '#shared/policy-source.js';
import type { RuntimePolicy } from '#domain/types.js';
import type { ClusterConfig } from '../config/schema.js';

/** The path prefix every cluster's policy parameter of a deployment shares (POLICY_PARAMETER_PREFIX). */
export function policyParameterPrefix(deployment: string): string {
  return `/kafka-heal/${deployment}/clusters`;
}

/** `/kafka-heal/<deployment>/clusters/<cluster>/policy`, built as the classifier builds it. */
export function clusterPolicyParameterName(deployment: string, cluster: string): string {
  return policyParameterName(policyParameterPrefix(deployment), cluster);
}

/** The full initial policy of a cluster (defaults filled). */
export function initialPolicy(cluster: Pick<ClusterConfig, 'policy'>): RuntimePolicy {
  return parsePolicy(cluster.policy ?? {});
}

export interface RuntimePolicyParametersProps {
  deployment: string;
  clusters: ClusterConfig[];
}

export class RuntimePolicyParameters extends Construct {
  readonly prefix: string;
  /** Cluster name -> its parameter. */
  readonly byCluster = new Map<string, StringParameter>();

  constructor(scope: Construct, id: string, props: RuntimePolicyParametersProps) {
    super(scope, id);
    this.prefix = policyParameterPrefix(props.deployment);
    for (const cluster of props.clusters) {
      const param = new StringParameter(this, `Policy-${cluster.name}`, {
        parameterName: clusterPolicyParameterName(props.deployment, cluster.name),
        description: `kafka-heal ${props.deployment}: runtime policy of cluster ${cluster.name} (mode: auto | approval | dry-run | off)`,
        stringValue: JSON.stringify(initialPolicy(cluster)),
        tier: ParameterTier.STANDARD,
      });
      this.byCluster.set(cluster.name, param);
    }
  }

  get parameters(): StringParameter[] {
    return [...this.byCluster.values()];
  }
}
