// The local Step Functions runtime: the project's ASL files run on aws-local-stepfunctions with
// every Task bound by its Resource. See runtime.ts for the engine's behaviour and bindings.ts for
// the service semantics each binding reproduces.
export * from './definition.js';
export * from './runtime.js';
export * from './map-iterations.js';
export * from './bindings.js';
export * from './runbook-runner.js';
export * from './systemctl-shim.js';
export * from './approvals.js';
export * from './route53.js';
export * from './msk-storage.js';
