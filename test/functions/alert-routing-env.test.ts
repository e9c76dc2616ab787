// ALERT_ROUTING_JSON, the webhook's and ingest's view of the config's alertmanager mapping: unset is
// the built-in names only; anything malformed is a deployment error naming the variable.
import { describe, expect, it } from 'vitest';
import { alertRoutingFromEnv } from '../../functions/shared/env.js';

describe('alertRoutingFromEnv', () => {
  it('unset or empty: no configured names, labels or hosts', () => {
    expect(alertRoutingFromEnv({})).toEqual({ kinds: {}, brokerHosts: {} });
    expect(alertRoutingFromEnv({ ALERT_ROUTING_JSON: '' })).toEqual({ kinds: {}, brokerHosts: {} });
  });

  it('reads what the stack writes', () => {
    const routing = { kinds: { ourbrokergone: 'broker-down' }, brokerLabel: 'kafka_node', clusterLabel: 'team_cluster', brokerHosts: { payments: { 'kafka-1.example.com': 1 } } };
    expect(alertRoutingFromEnv({ ALERT_ROUTING_JSON: JSON.stringify(routing) })).toEqual(routing);
    expect(alertRoutingFromEnv({ ALERT_ROUTING_JSON: '{"kinds":{},"brokerHosts":{}}' })).toEqual({ kinds: {}, brokerHosts: {} });
  });

  it.each([
    ['{', /^ALERT_ROUTING_JSON is not valid JSON$/],
    ['{"kinds":{"x":"meltdown"},"brokerHosts":{}}', /^ALERT_ROUTING_JSON is not an AlertRouting: kinds\.x: /],
    ['{"kinds":{},"brokerHosts":{"payments":{"h":-1}}}', /^ALERT_ROUTING_JSON is not an AlertRouting: brokerHosts\.payments\.h: /],
    ['[]', /^ALERT_ROUTING_JSON is not an AlertRouting: \(root\): /],
  ])('%s is a configuration error', (text, message) => {
    expect(() => alertRoutingFromEnv({ ALERT_ROUTING_JSON: text })).toThrow(message);
  });
});
