// Drills: a scenario (YAML) run against a real local cluster with the healer wired in process.
// `runDrill(scenario, opts)` is the programmatic entry (the CLI and the mttr bench use it).
export { runDrill, writeReport, type RunDrillOptions } from './runner.js';
export {
  loadScenario,
  parseScenario,
  validateScenario,
  builtInScenarios,
  ScenarioError,
  SCENARIO_DIR,
  type Scenario,
  type ScenarioInput,
  type Fault,
} from './scenario.js';
export { assembleReport, evaluateExpectations } from './report.js';
export { AlarmEvaluator, alarmStateChangeEvent } from './alarm-evaluator.js';
export type * from './report-types.js';
