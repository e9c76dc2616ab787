// ALERT_ROUTING_FILE, the webhook's and ingest's view of the config's alertmanager mapping: a file
// bundled beside the code (the mapping grows with the brokers' hosts, past what Lambda's 4 KB
// environment holds). Unset is the built-in names only; anything malformed is a deployment error
// naming the variable.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alertRoutingFromEnv, parseAlertRouting } from '#shared/env.js';

const root = mkdtempSync(join(tmpdir(), 'kh-routing-'));
function deployed(text: string): NodeJS.ProcessEnv {
  writeFileSync(join(root, 'alert-routing.json'), text);
  return { ALERT_ROUTING_FILE: 'alert-routing.json', LAMBDA_TASK_ROOT: root };
}

describe('alertRoutingFromEnv', () => {
  it('unset or empty: no configured names, labels or hosts', () => {
    expect(alertRoutingFromEnv({})).toEqual({ kinds: {}, brokerHosts: {} });
    expect(alertRoutingFromEnv({ ALERT_ROUTING_FILE: '' })).toEqual({ kinds: {}, brokerHosts: {} });
  });

  it('reads what the stack bundles', () => {
    const routing = {
      kinds: { ourbrokergone: 'broker-down' },
      brokerLabel: 'kafka_node',
      clusterLabel: 'team_cluster',
      brokerHosts: { payments: { 'kafka-1.example.com': 1 } },
    };
    expect(alertRoutingFromEnv(deployed(JSON.stringify(routing)))).toEqual(routing);
    expect(alertRoutingFromEnv(deployed('{"kinds":{},"brokerHosts":{}}'))).toEqual({ kinds: {}, brokerHosts: {} });
  });

  it('a large mapping (1,000 broker hosts, 80 alert names) is read whole', () => {
    const hosts = Object.fromEntries(
      Array.from({ length: 1000 }, (_, i) => [`kafka-${i + 1}.payments.internal.example.com`, i + 1]),
    );
    const kinds = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`somelongalertname${i}`, 'broker-down']));
    const routing = alertRoutingFromEnv(deployed(JSON.stringify({ kinds, brokerHosts: { payments: hosts } })));
    expect(Object.keys(routing.brokerHosts.payments!)).toHaveLength(1000);
    expect(Object.keys(routing.kinds)).toHaveLength(80);
  });

  it('a file that is named but missing is a configuration error naming the variable', () => {
    expect(() => alertRoutingFromEnv({ ALERT_ROUTING_FILE: 'nope.json', LAMBDA_TASK_ROOT: root })).toThrow(
      /^ALERT_ROUTING_FILE: cannot read .*nope\.json: ENOENT$/,
    );
  });

  it.each([
    ['{', /^ALERT_ROUTING_FILE: the file is not valid JSON$/],
    ['{"kinds":{"x":"meltdown"},"brokerHosts":{}}', /^ALERT_ROUTING_FILE: not an AlertRouting: kinds\.x: /],
    [
      '{"kinds":{},"brokerHosts":{"payments":{"h":-1}}}',
      /^ALERT_ROUTING_FILE: not an AlertRouting: brokerHosts\.payments\.h: /,
    ],
    ['[]', /^ALERT_ROUTING_FILE: not an AlertRouting: \(root\): /],
  ])('%s is a configuration error', (text, message) => {
    expect(() => parseAlertRouting(text)).toThrow(message);
    expect(() => alertRoutingFromEnv(deployed(text))).toThrow(message);
  });
});
