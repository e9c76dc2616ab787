// The drill keeps the total backoff of consumer-lag's re-evaluation at its time scale
// (totalPreservingRetries, local/drill/healer.ts), wherever the state sits: consumer-lag's
// `Check Lag Recovered` is inside the happy path's Parallel, not at the top level.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { aslFile } from '#infra/constructs/workflows.js';
import { totalPreservingRetries } from '#local/drill/healer.js';
import type { AslDefinition } from '#local/stepfunctions/index.js';

describe('totalPreservingRetries', () => {
  it("consumer-lag's re-evaluation: 60+120+240+480 s over 4 attempts, and 1+2+4 s over 3, scaled", () => {
    const def = JSON.parse(readFileSync(aslFile('consumer-lag'), 'utf8')) as AslDefinition;
    expect(def.States['Check Lag Recovered']).toBeUndefined();
    expect(totalPreservingRetries(def, 0.05)).toEqual({
      'Check Lag Recovered': [Math.round((900 / 4) * 1000 * 0.05), Math.round((7 / 3) * 1000 * 0.05)],
    });
  });

  it('a state without retriers, or not in the definition, gets no override', () => {
    const def = { StartAt: 'A', States: { A: { Type: 'Pass', End: true } } } as unknown as AslDefinition;
    expect(totalPreservingRetries(def, 1, ['A', 'Missing'])).toEqual({});
  });
});
