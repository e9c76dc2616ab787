// Where a deployment's own metrics live: the probe's series and the handlers' Powertools metrics.
// Pure, so the normalizer (which maps a probe alarm's metric to a signal kind) and the probe,
// the handlers and the stack share one rule.

/** The namespace outside a deployment (tests, the local runtime's default): see metricsNamespace. */
export const NAMESPACE = 'KafkaHeal';

/**
 * The namespace of everything one deployment publishes itself: `KafkaHeal/<deployment>`. Two
 * deployments in one account and region (staging and prod, both with a cluster named "orders")
 * then never read each other's series: a broker lost in staging cannot fire prod's broker-down
 * alarm, nor count on its dashboard.
 */
export function metricsNamespace(deployment: string): string {
  return `${NAMESPACE}/${deployment}`;
}

/** A namespace this project publishes to (any deployment's, or the bare one). */
export function isHealerNamespace(namespace: string | undefined): boolean {
  return namespace === NAMESPACE || (namespace?.startsWith(`${NAMESPACE}/`) ?? false);
}
