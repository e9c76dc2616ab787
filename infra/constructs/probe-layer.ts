// The probe library (functions/shared/probe) as ONE Lambda layer per stack, shared by every
// function that probes Kafka: the per-cluster probe and the recovery workflows' cluster steps.
// Those functions import the library as `@kafka-heal/probe`; in the repository that name maps
// to the TypeScript source (tsconfig.json `paths`, vitest.config.ts `resolve.alias`), in Lambda
// their bundles leave it external and Node loads it from the layer's
// /opt/nodejs/node_modules/@kafka-heal/probe. One build, one copy per stack, however many
// clusters.
//
// The asset is built by CDK's local bundling calling buildProbeLayer (esbuild, synchronous):
// no Docker is involved; the image named below is never pulled because the local bundler
// always succeeds. Stacks left out of `aws:cdk:bundling-stacks` skip the build like any other
// bundled asset (CDK then stages the library's source folder instead).
import { dirname } from 'node:path';
import { DockerImage, Stack } from 'aws-cdk-lib';
import { Architecture, Code, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { buildProbeLayer, LAYER_MODULES, LAYER_PACKAGE, PROBE_ENTRY } from '#layers/probe/build.js';
import type { HealerFunctionLayer } from './healer-function.js';

/** The module name the layer provides (and the functions using it leave external). */
export const PROBE_LAYER_MODULE = LAYER_PACKAGE;

/** Never pulled: the local bundler always succeeds, CDK only needs an image to be named. */
export const LOCAL_ONLY_IMAGE = 'kafka-heal-local-only';

const ID = 'ProbeLayer';

export class ProbeLayer extends Construct {
  /** The stack's probe layer, created on first use: one per stack however many functions use it. */
  static of(scope: Construct): ProbeLayer {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(ID);
    return existing instanceof ProbeLayer ? existing : new ProbeLayer(stack, ID);
  }

  readonly layer: LayerVersion;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.layer = new LayerVersion(this, 'Layer', {
      description: `kafka-heal cluster probe library (${PROBE_LAYER_MODULE})`,
      compatibleRuntimes: [Runtime.NODEJS_22_X],
      compatibleArchitectures: [Architecture.ARM_64],
      // The library's own folder is the asset source; the asset hash is the built output's.
      code: Code.fromAsset(dirname(PROBE_ENTRY), {
        bundling: {
          image: DockerImage.fromRegistry(LOCAL_ONLY_IMAGE),
          local: {
            tryBundle(outputDir: string): boolean {
              buildProbeLayer(outputDir);
              return true;
            },
          },
        },
      }),
    });
  }

  /** What HealerFunction needs to attach the layer and leave its module out of the bundle. */
  get binding(): HealerFunctionLayer {
    return { layer: this.layer, modules: LAYER_MODULES };
  }
}
