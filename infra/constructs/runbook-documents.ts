// The project's host runbooks (runbooks/*.yaml) deployed as SSM Command documents, one per stack
// and runbook, so every workflow that runs the same runbook sends the same document (two
// documents with one name would fail the deployment). The broker recovery documents (diagnose,
// restart) are created by RecoveryWorkflows; the others come from here, on first use.
import { Stack } from 'aws-cdk-lib';
import { CfnDocument } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { loadRunbook } from '../../functions/shared/runbooks.js';

export class RunbookDocuments extends Construct {
  private readonly documents = new Map<string, CfnDocument>();

  /** The stack's runbook documents (created on first use). */
  static of(scope: Construct, deployment: string): RunbookDocuments {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild('RunbookDocuments');
    return existing instanceof RunbookDocuments ? existing : new RunbookDocuments(stack, 'RunbookDocuments', deployment);
  }

  private constructor(
    scope: Construct,
    id: string,
    readonly deployment: string,
  ) {
    super(scope, id);
  }

  /** The SSM document of runbooks/<runbook>.yaml, named kafka-heal-<deployment>-<runbook>. */
  document(runbook: string): CfnDocument {
    let doc = this.documents.get(runbook);
    if (!doc) {
      doc = new CfnDocument(this, `Runbook-${runbook}`, {
        name: `kafka-heal-${this.deployment}-${runbook}`,
        documentType: 'Command',
        documentFormat: 'YAML',
        content: loadRunbook(runbook).content,
        updateMethod: 'NewVersion',
      });
      this.documents.set(runbook, doc);
    }
    return doc;
  }
}
