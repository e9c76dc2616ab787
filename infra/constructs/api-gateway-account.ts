// API Gateway's CloudWatch Logs role: an account-and-region setting (AWS::ApiGateway::Account),
// without which API Gateway refuses any stage that logs, access logs included. Both APIs of the
// stack access-log every request, so the config says how the setting is met
// (`apiGatewayCloudWatchRole`, docs/deploying.md#api-gateway-logging):
//
//   create    (default) the stack sets it: a role API Gateway may assume, with the AWS managed
//             policy that lets it write its logs, and the Account resource pointing at it. Both
//             are kept when the stack is deleted, since other APIs in the region may log through
//             the same setting. Several deployments in one region each set it to their own role:
//             harmless, any one of them works.
//   existing  the account already has it (set by a platform team or another stack); the stack
//             changes nothing, and its stages fail to create if it is missing, so check first
//             (docs/deploying.md).
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

export type ApiGatewayCloudWatchRole = 'create' | 'existing';

export class ApiGatewayAccount extends Construct {
  /** The Account resource, when the stack sets the role. */
  readonly account: CfnAccount | undefined;

  constructor(scope: Construct, id: string, props: { mode: ApiGatewayCloudWatchRole }) {
    super(scope, id);
    if (props.mode === 'existing') return;
    const role = new Role(this, 'CloudWatchRole', {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      description:
        'API Gateway account setting: writes the access and execution logs of REST API stages to CloudWatch Logs',
      managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.account = new CfnAccount(this, 'Account', { cloudWatchRoleArn: role.roleArn });
    this.account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'The AWS managed policy made for exactly this role: API Gateway creates log groups named after each API and stage, which no narrower resource list can name in advance.',
    });
  }

  /** The API's stage is created after the account setting (else its logging is refused). */
  before(api: RestApi): this {
    if (this.account) api.deploymentStage.node.addDependency(this.account);
    return this;
  }
}
