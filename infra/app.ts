// CDK entry point (cdk.json: `npx tsx infra/app.ts`): one stack per deployment config file.
//
//   npx cdk synth                                         # the three example configs
//   npx cdk synth -c kafka-heal:configFiles=prod.yaml     # your own (comma-separate several)
//
// Invalid configuration fails the synth with exit code 2 and one line per bad field and value.
import { App } from 'aws-cdk-lib';
import { addHealerStacks, configFilesFrom, ConfigErrors, loadConfigs } from './app-builder.js';

const app = new App();
let configs;
try {
  configs = loadConfigs(configFilesFrom(app));
} catch (err) {
  if (err instanceof ConfigErrors) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
addHealerStacks(app, configs);
app.synth();
