// A Kafka installation directory for the local broker hosts, as the SSM documents expect one
// (`$KafkaHome/bin/kafka-*.sh`, kafka-cli-action): each script runs the same Kafka tool class
// Kafka's own bin script runs, on the jars of the cluster's mode, with arguments passed through
// untouched. The drill's cascade-recovery throttles producers and elects leaders through it.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureJars } from '../maven.js';
import { JAR_SET, type ClusterMode } from '../kafka/config.js';

/** Kafka's bin scripts and the main class each runs (Kafka 3.9 and 4.x alike). */
const TOOLS: Record<string, string> = {
  'kafka-configs.sh': 'kafka.admin.ConfigCommand',
  'kafka-leader-election.sh': 'org.apache.kafka.tools.LeaderElectionCommand',
  'kafka-metadata-quorum.sh': 'org.apache.kafka.tools.MetadataQuorumCommand',
};

/** Writes `<dir>/bin/<tool>.sh` for the tools above and returns `dir` (the KafkaHome parameter). */
export async function writeKafkaHome(dir: string, mode: ClusterMode): Promise<string> {
  const jars = await ensureJars(JAR_SET[mode], () => undefined);
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const [script, mainClass] of Object.entries(TOOLS)) {
    const path = join(bin, script);
    writeFileSync(
      path,
      `#!/bin/bash\nexec java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '${join(jars, '*')}' ${mainClass} "$@"\n`,
    );
    chmodSync(path, 0o755);
  }
  return dir;
}
