// Parsing of MetadataQuorumCommand's `describe --status` answer (format of Kafka 4.x).
import { describe, expect, it } from 'vitest';
import { parseQuorumStatus } from '#local/kafka/tools.js';

const sample = `ClusterId:              gO7_FMa32c87oDJO9S_SaQ
LeaderId:               2
LeaderEpoch:            7
HighWatermark:          52
MaxFollowerLag:         0
MaxFollowerLagTimeMs:   0
CurrentVoters:          [{"id": 1, "endpoints": ["CONTROLLER://127.0.0.1:42503"]}, {"id": 2, "endpoints": ["CONTROLLER://127.0.0.1:43647"]}, {"id": 3, "endpoints": ["CONTROLLER://127.0.0.1:39443"]}]
CurrentObservers:       [{"id": 4, "directoryId": "x"}, {"id": 5, "directoryId": "y"}]
`;

describe('parseQuorumStatus', () => {
  it('reads leader, epoch, voters and observers', () => {
    expect(parseQuorumStatus(sample)).toEqual({ leaderId: 2, leaderEpoch: 7, voters: [1, 2, 3], observers: [4, 5] });
  });

  it('reads an empty observer list', () => {
    expect(parseQuorumStatus(sample.replace(/CurrentObservers:.*$/m, 'CurrentObservers:       []')).observers).toEqual(
      [],
    );
  });

  it('refuses output without a leader id', () => {
    expect(() => parseQuorumStatus('Error: timed out')).toThrow(/no LeaderId/);
  });
});
