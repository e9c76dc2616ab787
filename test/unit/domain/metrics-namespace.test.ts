import { describe, expect, it } from 'vitest';
import { NAMESPACE, isHealerNamespace, metricsNamespace } from '#domain/metrics-namespace.js';

describe('metrics namespace', () => {
  it("is KafkaHeal/<deployment>, and only those and the bare one are the healer's", () => {
    expect(metricsNamespace('prod-eu')).toBe('KafkaHeal/prod-eu');
    expect(isHealerNamespace(metricsNamespace('staging'))).toBe(true);
    expect(isHealerNamespace(NAMESPACE)).toBe(true);
    expect(isHealerNamespace('KafkaHealth')).toBe(false);
    expect(isHealerNamespace('AWS/Kafka')).toBe(false);
    expect(isHealerNamespace(undefined)).toBe(false);
  });
});
