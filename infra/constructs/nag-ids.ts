// How cdk-nag names a resource in a finding id (`AwsSolutions-IAM5[Resource::<this>]`): tokens as
// `<AWS::Partition>`, `<AWS::Region>`, `<AWS::AccountId>`, literals as themselves. A stack with its
// region (and account) from the config has literal ones, so acknowledgments build the ARN prefix
// here instead of spelling it out.
import { Stack, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

function part(value: string, name: string): string {
  return Token.isUnresolved(value) ? `<AWS::${name}>` : value;
}

/** `arn:<partition>:<service>:<region>:<account>` of the scope's stack; `global` leaves region and account empty (Route 53). */
export function nagArnPrefix(scope: Construct, service: string, opts: { global?: boolean } = {}): string {
  const s = Stack.of(scope);
  const where = opts.global ? ':' : `${part(s.region, 'Region')}:${part(s.account, 'AccountId')}`;
  return `arn:${part(s.partition, 'Partition')}:${service}:${where}`;
}
