// One Logger and one Metrics per Lambda process (tracing: see middy.ts). The service name comes from
// POWERTOOLS_SERVICE_NAME (set per function by the house Lambda construct), the metrics
// namespace from POWERTOOLS_METRICS_NAMESPACE (default KafkaHeal).
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'kafka-heal';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({
  serviceName,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'KafkaHeal',
});

export { MetricUnit } from '@aws-lambda-powertools/metrics';
