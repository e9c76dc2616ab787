// The incident table: one DynamoDB table, single-table design (the item layout is documented
// next to the code that writes it, functions/shared/store/table.ts; the key names come from
// there so the table and the store cannot disagree).
//
// Keys:
//   pk, sk (strings)      every item: INCIDENT#<id>/META, INCIDENT#<id>/TL#<iso>#<seq> (timeline),
//                         LOCK#<cluster>/LOCK (per-cluster remediation lock), SIGNAL#<id>/SIGNAL
//                         (dedup), HEALS#<cluster>/<iso>#<id>, OPEN#<cluster>#<family>/SLOT, RAW#...
//   gsi1pk, gsi1sk        open incidents per cluster: gsi1pk = CLUSTER#<name>#OPEN on an incident
//                         while it is active (removed when it closes, so the index only holds
//                         open incidents: a sparse index), gsi1sk = opened time + id.
//   expiresAt (number)    TTL in epoch seconds: locks expire by themselves if a holder dies;
//                         dedup markers, heal records and raw input age out.
//
// Encryption: the AWS managed KMS key (aws/dynamodb). The table holds operational metadata
// (alarm names, broker ids, timelines), not customer data; key use is still logged in
// CloudTrail, and there is no key policy to keep in step with every workflow role that later
// reads or writes incidents directly from Step Functions (a customer managed key would need a
// kms grant for each of them). A customer managed key is a one-line change here if required.
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { INCIDENT_TABLE_SCHEMA } from '#shared/store/table.js';

export class IncidentTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const s = INCIDENT_TABLE_SCHEMA;
    this.table = new Table(this, 'Table', {
      partitionKey: { name: s.partitionKey, type: AttributeType.STRING },
      sortKey: { name: s.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: s.ttlAttribute,
      deletionProtection: true,
      // Incidents and their timelines are the audit record of what the automation did.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: s.gsi1.name,
      partitionKey: { name: s.gsi1.partitionKey, type: AttributeType.STRING },
      sortKey: { name: s.gsi1.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
  }
}
