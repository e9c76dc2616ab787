// The deploy-time configuration: one YAML (or JSON) file describing the deployment and every
// Kafka cluster it heals. Parsed and validated here with zod so that `cdk synth` and
// `kafka-heal config validate` fail the same way, naming each bad field and the bad value:
//
//   clusters[1].msk.clusterArn: expected an MSK cluster ARN like arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>, got "foo"
//
// Shape rules (formats, ranges, unknown keys) come from the schema; rules that relate fields
// (platform sections, broker counts, unique names, DR peers) are refinements next to the
// object they concern, so the issue lands on the field an operator has to edit.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { alertKey, type AlertRouting } from '#domain/normalize/alert-names.js';
import { SIGNAL_KINDS, type ClusterFacts, type SignalKind } from '#domain/types.js';
import { PolicyError, parsePolicy } from '#domain/policy.js';

// ---------------------------------------------------------------------------------------------
// Errors

export interface ConfigIssue {
  /** Field path as an operator writes it: `clusters[1].msk.clusterArn`; '' for the whole file. */
  path: string;
  /** The rule the value breaks, e.g. `expected a subnet id like subnet-0123456789abcdef0`. */
  message: string;
  /** The offending value as written in the file (absent when the field is missing). */
  value?: unknown;
}

const VALUE_PREVIEW_MAX = 80;

/** `"foo"`, `42`, `{"a":1}`; long values are cut with an ellipsis so one issue stays one line. */
export function previewValue(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > VALUE_PREVIEW_MAX ? `${text.slice(0, VALUE_PREVIEW_MAX - 1)}…` : text;
}

/** One issue as one line: `<path>: <rule>, got <value>` (or `..., but it is missing`). */
export function formatIssue(issue: ConfigIssue): string {
  // Whole-file problems (unreadable, not YAML) have no field and no value to show.
  if (issue.path === '' && issue.value === undefined) return issue.message;
  const got = issue.value === undefined ? 'but it is missing' : `got ${previewValue(issue.value)}`;
  return `${issue.path === '' ? '(document)' : issue.path}: ${issue.message}, ${got}`;
}

/** Invalid configuration. `issues` holds every problem found, not only the first. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    const n = issues.length;
    super(
      `${source}: invalid kafka-heal configuration (${n} problem${n === 1 ? '' : 's'}):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Field rules, each with the sentence an operator reads when it is broken

const HEX_ID = (prefix: string) => new RegExp(`^${prefix}-(?:[0-9a-f]{8}|[0-9a-f]{17})$`);

/** A string matching `re`; every failure (wrong type, missing, no match) says `rule`. */
function pattern(re: RegExp, rule: string) {
  return z.string({ error: rule }).regex(re, { error: rule });
}

function integer(min: number, max: number, rule: string) {
  return z.int({ error: rule }).min(min, { error: rule }).max(max, { error: rule });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `expected one of ${values.join(' | ')}` });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Cross-field rules also run on half-valid input; they read fields through this. */
function loose(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}

const bool = z.boolean({ error: 'expected true or false' });

/** A list whose elements, keyed by `key`, must be unique; the issue lands on each repeat. */
function uniqueBy<T>(
  items: T[],
  key: (item: T) => unknown,
  ctx: z.RefinementCtx,
  path: (i: number) => PropertyKey[],
  what: string,
): void {
  const seen = new Map<unknown, number>();
  items.forEach((item, i) => {
    const k = key(item);
    if (k === undefined) return;
    const first = seen.get(k);
    if (first === undefined) seen.set(k, i);
    else
      ctx.addIssue({
        code: 'custom',
        path: path(i),
        message: `${what} must be unique (already used at index ${first})`,
      });
  });
}

/** Clusters one deployment (one stack) watches at most. */
export const MAX_CLUSTERS = 10;

export const NAME_RULES = {
  deployment: 'expected a deployment name: a lowercase letter, then up to 23 lowercase letters, digits or hyphens',
  cluster: 'expected a cluster name: a lowercase letter, then up to 39 lowercase letters, digits or hyphens',
} as const;

const deploymentName = pattern(/^[a-z][a-z0-9-]{0,23}$/, NAME_RULES.deployment);
/** An AWS region code: us-east-1, eu-central-2, cn-north-1, us-gov-west-1, ap-southeast-7. */
export const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d$/;
const region = pattern(REGION, 'expected an AWS region like eu-west-1 (where the stack and its alarms live)');
const accountId = pattern(/^\d{12}$/, 'expected a 12-digit AWS account id like 123456789012');
const clusterName = pattern(/^[a-z][a-z0-9-]{0,39}$/, NAME_RULES.cluster);
const instanceId = pattern(HEX_ID('i'), 'expected an EC2 instance id like i-0123456789abcdef0');
const vpcId = pattern(HEX_ID('vpc'), 'expected a VPC id like vpc-0123456789abcdef0');
const subnetId = pattern(HEX_ID('subnet'), 'expected a subnet id like subnet-0123456789abcdef0');
const securityGroupId = pattern(HEX_ID('sg'), 'expected a security group id like sg-0123456789abcdef0');
const secretName = pattern(
  /^[A-Za-z0-9/_+=.@-]{1,512}$/,
  'expected a Secrets Manager secret name (letters, digits and /_+=.@-)',
);
const SECRET_ARN =
  /^arn:aws(?:-cn|-us-gov)?:secretsmanager:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:secret:([A-Za-z0-9/_+=.@-]{1,512})$/;
/** A Secrets Manager secret by name or ARN: the functions read it at run time, the stack grants that read. */
const secretRef = z
  .string({ error: 'expected a Secrets Manager secret name or ARN' })
  .refine((s) => SECRET_ARN.test(s) || (/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(s) && !s.startsWith('arn:')), {
    error:
      'expected a Secrets Manager secret name (letters, digits and /_+=.@-) or ARN like arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf',
  });
const kmsKeyArn = pattern(
  /^arn:aws(?:-cn|-us-gov)?:kms:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:key\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  'expected a KMS key ARN like arn:aws:kms:<region>:<account>:key/<uuid>',
);
const snsTopicArn = pattern(
  /^arn:aws(?:-cn|-us-gov)?:sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/,
  'expected an SNS topic ARN like arn:aws:sns:<region>:<account>:<topic>',
);
const lambdaFunctionArn = pattern(
  /^arn:aws(?:-cn|-us-gov)?:lambda:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:function:[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9$_-]{1,128})?$/,
  'expected a Lambda function ARN like arn:aws:lambda:<region>:<account>:function:<name>',
);
// The runbooks' path rule (runbooks/README.md): absolute, plain segments, no `.` or `..`.
const hostPath = pattern(
  /^(\/\.?[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,63}){1,16}$/,
  'expected an absolute path of plain segments like /var/lib/zookeeper (letters, digits, ._-)',
);
const MSK_ARN =
  /^arn:aws(?:-cn|-us-gov)?:kafka:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:cluster\/([A-Za-z][A-Za-z0-9-]{0,63})\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:-\d+)?$/;
const mskClusterArn = pattern(
  MSK_ARN,
  'expected an MSK cluster ARN like arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>',
);
const mskClusterName = pattern(
  /^[A-Za-z][A-Za-z0-9-]{0,63}$/,
  'expected an MSK cluster name: a letter, then up to 63 letters, digits or hyphens',
);
const hostedZoneId = pattern(/^Z[A-Z0-9]{1,31}$/, 'expected a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ');
const DNS_LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const dnsName = pattern(
  new RegExp(`^(?=.{1,253}\\.?$)${DNS_LABEL}(?:\\.${DNS_LABEL})+\\.?$`),
  'expected a DNS name like kafka.example.com',
);
// Kafka allows more in group ids, but MSK publishes no lag metrics for names with a colon and
// the name becomes part of alarm names, so the config keeps to topic-name characters.
const consumerGroupName = pattern(
  /^[A-Za-z0-9._-]{1,249}$/,
  'expected a consumer group name of 1-249 letters, digits, dots, underscores or hyphens',
);
const topicName = pattern(
  /^[A-Za-z0-9._-]{1,249}$/,
  'expected a Kafka topic name of 1-249 letters, digits, dots, underscores or hyphens',
);
const serviceName = pattern(/^[A-Za-z0-9_.@:-]{1,128}$/, 'expected a systemd unit name like kafka or kafka.service');
const tagKey = pattern(
  /^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u,
  'expected an EC2 tag key of 1-128 characters (letters, digits, spaces, _.:/=+-@), not starting with aws:',
);
const tagValue = pattern(
  /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u,
  'expected an EC2 tag value of 0-256 characters (letters, digits, spaces, _.:/=+-@)',
);
const isoTime = z.iso.datetime({
  offset: true,
  error: 'expected an ISO 8601 time with a zone like 2026-01-31T22:00:00Z',
});

const BOOTSTRAP_RULE =
  'expected a bootstrap server as host:port like b-1.orders.abc123.c2.kafka.eu-west-1.amazonaws.com:9092';
const BOOTSTRAP = new RegExp(`^(?:\\[[0-9A-Fa-f:.]+\\]|${DNS_LABEL}(?:\\.${DNS_LABEL})*):(\\d{1,5})$`);
const bootstrapServer = z.string({ error: BOOTSTRAP_RULE }).refine(
  (s) => {
    const port = Number(BOOTSTRAP.exec(s)?.[1] ?? 0);
    return port >= 1 && port <= 65535;
  },
  { error: BOOTSTRAP_RULE },
);

const BROKER_HOST_RULE =
  'expected the broker host as the monitoring labels it, without a port: a DNS or host name like kafka-1.example.com or kafka1, or an IP address like 10.0.1.5';
const brokerHost = pattern(
  new RegExp(`^(?:[0-9A-Fa-f]*:[0-9A-Fa-f:.]+|${DNS_LABEL}(?:\\.${DNS_LABEL})*)$`),
  BROKER_HOST_RULE,
);
const labelName = pattern(
  /^[A-Za-z_][A-Za-z0-9_]{0,127}$/,
  'expected a Prometheus label name like kafka_broker (letters, digits and underscores, not starting with a digit)',
);
const ALERT_KINDS = SIGNAL_KINDS.filter((k) => k !== 'unknown') as [
  Exclude<SignalKind, 'unknown'>,
  ...Exclude<SignalKind, 'unknown'>[],
];

/** ZooKeeper's client port when neither the address nor `clientPort` names one. */
export const DEFAULT_ZOOKEEPER_CLIENT_PORT = 2181;
const ZK_HOST = `(?:\\[[0-9A-Fa-f:.]+\\]|${DNS_LABEL}(?:\\.${DNS_LABEL})*)`;
const ZK_ADDRESS = new RegExp(`^${ZK_HOST}(?::(\\d{1,5}))?$`);
const ZK_ADDRESS_RULE = 'expected a ZooKeeper client address as host or host:port like zk-1.payments.example.com:2181';
/** One ZooKeeper server's client address; a chroot or a whole zookeeper.connect string get a rule of their own. */
const zookeeperAddress = z.string({ error: ZK_ADDRESS_RULE }).superRefine((s, ctx) => {
  if (s.includes(',')) {
    ctx.addIssue({
      code: 'custom',
      message: "expected one ZooKeeper server per list item (split Kafka's zookeeper.connect at the commas)",
    });
  } else if (s.includes('/')) {
    ctx.addIssue({
      code: 'custom',
      message:
        "expected host:port without a chroot path: each server is asked for its own state, not through the brokers' chroot",
    });
  } else {
    const m = ZK_ADDRESS.exec(s);
    const port = m?.[1] === undefined ? DEFAULT_ZOOKEEPER_CLIENT_PORT : Number(m[1]);
    if (!m || port < 1 || port > 65535) ctx.addIssue({ code: 'custom', message: ZK_ADDRESS_RULE });
  }
});

// ---------------------------------------------------------------------------------------------
// Sections

const maintenanceWindowSchema = z
  .strictObject({
    start: isoTime,
    end: isoTime,
    reason: z.string({ error: 'expected text' }).max(500, { error: 'expected at most 500 characters' }).optional(),
  })
  .superRefine((w, ctx) => {
    if (Date.parse(w.end) <= Date.parse(w.start)) {
      ctx.addIssue({ code: 'custom', path: ['end'], message: `expected a time after start (${w.start})` });
    }
  });

const percent = (rule: string) => z.number({ error: rule }).gt(0, { error: rule }).max(100, { error: rule });
const fraction = (rule: string) => z.number({ error: rule }).gt(0, { error: rule }).max(1, { error: rule });
const count = integer(1, Number.MAX_SAFE_INTEGER, 'expected a whole number of at least 1');

const thresholdsSchema = z
  .strictObject({
    diskWarnPercent: percent('expected a percentage above 0 and at most 100').optional(),
    diskCriticalPercent: percent('expected a percentage above 0 and at most 100').optional(),
    lagSev3: count.optional(),
    lagSev2: count.optional(),
    lagSev1: count.optional(),
    errorRateSev3: fraction('expected a fraction above 0 and at most 1 (0.01 = 1%)').optional(),
    errorRateSev2: fraction('expected a fraction above 0 and at most 1 (0.01 = 1%)').optional(),
    errorRateSev1: fraction('expected a fraction above 0 and at most 1 (0.01 = 1%)').optional(),
    dlqPerMinuteSev3: count.optional(),
    dlqPerMinuteSev2: count.optional(),
    certExpiryWarnDays: integer(1, 3650, 'expected whole days from 1 to 3650').optional(),
    certExpiryCriticalDays: integer(1, 3650, 'expected whole days from 1 to 3650').optional(),
  })
  .superRefine((t, ctx) => {
    // Each ladder must rise with severity, or the classifier's bands would overlap.
    const ladders: [keyof typeof t, keyof typeof t][] = [
      ['diskWarnPercent', 'diskCriticalPercent'],
      ['lagSev3', 'lagSev2'],
      ['lagSev2', 'lagSev1'],
      ['errorRateSev3', 'errorRateSev2'],
      ['errorRateSev2', 'errorRateSev1'],
      ['dlqPerMinuteSev3', 'dlqPerMinuteSev2'],
      // Days to expiry count down: the critical level is the lower number.
      ['certExpiryCriticalDays', 'certExpiryWarnDays'],
    ];
    for (const [lower, higher] of ladders) {
      const lo = t[lower];
      const hi = t[higher];
      if (lo !== undefined && hi !== undefined && hi <= lo) {
        ctx.addIssue({ code: 'custom', path: [higher], message: `expected a value above ${lower} (${lo})` });
      }
    }
  });

/** Who each escalation level pages (parsePolicy checks the same rules at run time, with the same messages). */
const escalationLevelSchema = z.strictObject({
  routingKeySecret: pattern(
    /^kafka-heal\/pagerduty\/[A-Za-z0-9/_+=.@-]{1,200}$/,
    'expected a Secrets Manager secret name under kafka-heal/pagerduty/',
  ).optional(),
  snsTopicArn: snsTopicArn.optional(),
});
const escalationSchema = z
  .strictObject({
    mode: oneOf(['pagerduty', 'levels']).default('pagerduty'),
    levels: z.array(escalationLevelSchema).max(5, { error: 'expected at most 5 levels' }).default([]),
  })
  .superRefine((e, ctx) => {
    // The rules that need the whole block: one target per level, each reaching someone new.
    try {
      parsePolicy({ escalation: e });
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      for (const i of err.issues)
        ctx.addIssue({
          code: 'custom',
          path: i.path
            .replace(/^escalation\.?/, '')
            .split(/\.|\[(\d+)\]/)
            .filter(Boolean)
            .map((k) => (/^\d+$/.test(k) ? Number(k) : k)),
          message: i.message,
        });
    }
  });

/** Initial runtime policy written to SSM; a partial RuntimePolicy, defaults filled at run time. */
const policySchema = z.strictObject({
  mode: oneOf(['auto', 'approval', 'dry-run', 'off']).default('dry-run'),
  maintenanceWindows: z.array(maintenanceWindowSchema).optional(),
  cooldownSeconds: integer(0, 86_400, 'expected whole seconds from 0 to 86400').optional(),
  flapMaxHeals: integer(1, 100, 'expected a whole number from 1 to 100').optional(),
  flapWindowSeconds: integer(60, 604_800, 'expected whole seconds from 60 to 604800').optional(),
  cascadeWindowSeconds: integer(1, 3_600, 'expected whole seconds from 1 to 3600').optional(),
  simultaneousWindowSeconds: integer(
    0,
    3_600,
    'expected whole seconds from 0 to 3600 (brokers first seen failing this close together failed together)',
  ).optional(),
  blastRadiusFraction: fraction('expected a fraction above 0 and at most 1 (0.4 = 40% of brokers)').optional(),
  blastRadiusBrokers: integer(1, 10_000, 'expected a whole number of brokers from 1 to 10000').optional(),
  thresholds: thresholdsSchema.optional(),
  autoResolveSeconds: integer(0, 604_800, 'expected whole seconds from 0 (never) to 604800').optional(),
  reopenSeconds: integer(0, 604_800, 'expected whole seconds from 0 (never) to 604800').optional(),
  escalation: escalationSchema.optional(),
});

const consumerGroupSchema = z
  .strictObject({
    name: consumerGroupName,
    topics: z
      .array(topicName)
      .min(1, { error: 'expected at least one topic (or leave topics out to watch every topic of the group)' })
      .optional(),
    ownerTeam: z
      .string({ error: 'expected a team name' })
      .min(1, { error: 'expected a team name' })
      .max(128, { error: 'expected at most 128 characters' })
      .optional(),
    maxOffsetLag: integer(1, Number.MAX_SAFE_INTEGER, 'expected a whole number of messages, at least 1').default(
      10_000,
    ),
    maxTimeLagSeconds: integer(1, 604_800, 'expected whole seconds from 1 to 604800').default(300),
    /** The owning team's SNS topic: the consumer-lag workflow sends it the evidence first. */
    ownerTopicArn: snsTopicArn.optional(),
    /** Optional scale hook the consumer-lag workflow calls for this group (off when absent). */
    scaleHook: z
      .strictObject({ lambdaFunctionArn: lambdaFunctionArn.optional(), snsTopicArn: snsTopicArn.optional() })
      .superRefine((h, ctx) => {
        if ((h.lambdaFunctionArn === undefined) === (h.snsTopicArn === undefined)) {
          ctx.addIssue({
            code: 'custom',
            path: [],
            message: 'expected exactly one of lambdaFunctionArn or snsTopicArn',
          });
        }
      })
      .optional(),
  })
  .superRefine((g, ctx) => {
    if (g.topics)
      uniqueBy(
        g.topics,
        (t) => t,
        ctx,
        (i) => ['topics', i],
        'topics',
      );
  });

const probeSchema = z
  .strictObject({
    vpcId,
    subnetIds: z
      .array(subnetId)
      .min(1, { error: 'expected at least one subnet id' })
      .max(16, { error: 'expected at most 16 subnet ids' }),
    securityGroupId,
    // Fast detection (functions/probe/fast-detect.ts): the pause before the probe looks again at a
    // broker it found unreachable; both looks, the pause and the send fit the probe's 55 s timeout.
    recheckSeconds: z
      .number({ error: 'expected a whole number of seconds from 0 to 30' })
      .int({ error: 'expected a whole number of seconds from 0 to 30' })
      .min(0, { error: 'expected a whole number of seconds from 0 to 30 (0 turns fast detection off)' })
      .max(30, {
        error:
          "expected a whole number of seconds from 0 to 30: the probe's two looks and the send must fit its 55 s timeout",
      })
      .default(10),
  })
  .superRefine((p, ctx) =>
    uniqueBy(
      p.subnetIds,
      (s) => s,
      ctx,
      (i) => ['subnetIds', i],
      'subnet ids',
    ),
  );

/** How the healer's clients (probe, cluster steps, Kafka CLI on hosts) connect to the cluster's listener. */
export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER', 'AWS_MSK_IAM'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** Mechanisms whose secret the credentials field names (AWS_MSK_IAM signs with the function's role). */
const NEEDS_CREDENTIALS: readonly SaslMechanism[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'];
/** Mechanisms that send a reusable secret itself over the connection (a password, a bearer token). */
const SENDS_SECRET: readonly SaslMechanism[] = ['PLAIN', 'OAUTHBEARER'];

const tlsSchema = z.strictObject({
  /** PEM CA bundle the brokers' certificates must chain to; absent: the system trust store. */
  caSecret: secretRef.optional(),
  /** The name the brokers' certificates must carry (and the SNI sent); absent: each broker's host name. */
  serverName: dnsName.optional(),
  /** mTLS: a secret holding {"certificate": PEM, "privateKey": PEM} the clients present. */
  clientCertificateSecret: secretRef.optional(),
  /** Alarm on the brokers' certificates nearing expiry (policy.thresholds.certExpiry*Days). */
  certificateExpiryAlarms: bool.optional(),
});

const securitySchema = z
  .strictObject({
    protocol: oneOf(SECURITY_PROTOCOLS).default('PLAINTEXT'),
    mechanism: oneOf(SASL_MECHANISMS).optional(),
    /** PLAIN / SCRAM: {"username", "password"}; OAUTHBEARER: {"token"} or a client-credentials grant. */
    credentialsSecret: secretRef.optional(),
    /** The customer managed KMS key the secrets are encrypted with: kms:Decrypt is granted on it. */
    kmsKeyArn: kmsKeyArn.optional(),
    tls: tlsSchema.optional(),
    /** SASL_PLAINTEXT with PLAIN or OAUTHBEARER sends the credential itself unencrypted: only on request. */
    allowPlaintextCredentials: bool.default(false),
  })
  .superRefine((sec, ctx) => {
    const sasl = sec.protocol.startsWith('SASL_');
    const tls = sec.protocol === 'SSL' || sec.protocol === 'SASL_SSL';
    if (sasl && sec.mechanism === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['mechanism'],
        message: `required when protocol is ${sec.protocol}: one of ${SASL_MECHANISMS.join(' | ')}`,
      });
    }
    if (!sasl && sec.mechanism !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['mechanism'],
        message: `only allowed with protocol SASL_PLAINTEXT or SASL_SSL (protocol is ${sec.protocol})`,
      });
    }
    if (
      sasl &&
      sec.mechanism !== undefined &&
      NEEDS_CREDENTIALS.includes(sec.mechanism) &&
      sec.credentialsSecret === undefined
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['credentialsSecret'],
        message: `required with mechanism ${sec.mechanism}: the Secrets Manager secret holding the probe's credentials`,
      });
    }
    if (
      sec.credentialsSecret !== undefined &&
      !(sasl && sec.mechanism !== undefined && NEEDS_CREDENTIALS.includes(sec.mechanism))
    ) {
      const why =
        sec.mechanism === 'AWS_MSK_IAM'
          ? "AWS_MSK_IAM signs with the function's IAM role, it has no secret"
          : `only used with a SASL mechanism that has credentials (${NEEDS_CREDENTIALS.join(', ')})`;
      ctx.addIssue({ code: 'custom', path: ['credentialsSecret'], message: `not allowed here: ${why}` });
    }
    if (sec.mechanism === 'AWS_MSK_IAM' && sec.protocol !== 'SASL_SSL') {
      ctx.addIssue({
        code: 'custom',
        path: ['protocol'],
        message: 'expected SASL_SSL: MSK serves IAM authentication on TLS listeners only',
      });
    }
    if (
      sec.protocol === 'SASL_PLAINTEXT' &&
      sec.mechanism !== undefined &&
      SENDS_SECRET.includes(sec.mechanism) &&
      !sec.allowPlaintextCredentials
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['protocol'],
        message: `expected SASL_SSL: ${sec.mechanism} over SASL_PLAINTEXT sends the ${sec.mechanism === 'PLAIN' ? 'password' : 'bearer token'} unencrypted (set allowPlaintextCredentials: true to accept that)`,
      });
    }
    if (sec.allowPlaintextCredentials && sec.protocol !== 'SASL_PLAINTEXT') {
      ctx.addIssue({
        code: 'custom',
        path: ['allowPlaintextCredentials'],
        message: 'only meaningful with protocol SASL_PLAINTEXT',
      });
    }
    if (sec.tls !== undefined && !tls) {
      ctx.addIssue({
        code: 'custom',
        path: ['tls'],
        message: `only allowed with protocol SSL or SASL_SSL (protocol is ${sec.protocol})`,
      });
    }
    if (
      sec.kmsKeyArn !== undefined &&
      sec.credentialsSecret === undefined &&
      sec.tls?.caSecret === undefined &&
      sec.tls?.clientCertificateSecret === undefined
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['kmsKeyArn'],
        message:
          'only meaningful with a secret to decrypt (credentialsSecret, tls.caSecret or tls.clientCertificateSecret)',
      });
    }
  });

/** The MSK listener each bootstrap port belongs to (private and public endpoints). */
const MSK_PORTS: Record<number, { listener: string; protocol: SecurityProtocol; mechanism?: SaslMechanism }> = {
  9092: { listener: 'the plaintext listener', protocol: 'PLAINTEXT' },
  9094: { listener: 'the TLS listener', protocol: 'SSL' },
  9194: { listener: 'the public TLS listener', protocol: 'SSL' },
  9096: { listener: 'the SASL/SCRAM listener', protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512' },
  9196: { listener: 'the public SASL/SCRAM listener', protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512' },
  9098: { listener: 'the IAM listener', protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM' },
  9198: { listener: 'the public IAM listener', protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM' },
};

/** The name of a secret given by name or ARN (an ARN ends in -<6 random characters>). */
export function secretNameOf(ref: string): string {
  const m = SECRET_ARN.exec(ref);
  return m ? (m[1] as string).replace(/-[A-Za-z0-9]{6}$/, '') : ref;
}

/**
 * Cross-field rules between a cluster's security block, its platform and its bootstrap ports:
 * on MSK the port says which listener (and so which protocol and mechanism) is spoken, MSK takes
 * SCRAM secrets only named AmazonMSK_* and encrypted with a customer managed key, and IAM exists
 * only on MSK.
 */
function checkSecurity(c: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const sec = loose(c['security']);
  const protocol = typeof sec['protocol'] === 'string' ? sec['protocol'] : 'PLAINTEXT';
  const mechanism = typeof sec['mechanism'] === 'string' ? sec['mechanism'] : undefined;
  if (c['platform'] === 'ec2') {
    if (mechanism === 'AWS_MSK_IAM')
      ctx.addIssue({
        code: 'custom',
        path: ['security', 'mechanism'],
        message: 'AWS_MSK_IAM is only for platform msk (IAM authentication is an MSK feature)',
      });
    const ec2 = loose(c['ec2']);
    if (protocol !== 'PLAINTEXT' && isRecord(c['ec2']) && ec2['clientPropertiesFile'] === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['ec2', 'clientPropertiesFile'],
        message: `required when security.protocol is ${protocol}: the client properties file on the broker hosts that Kafka's CLI tools (kafka-cli-action) connect with; only its path is passed, never a secret`,
      });
    }
    return;
  }
  if (c['platform'] !== 'msk') return;
  const servers = Array.isArray(c['bootstrapServers']) ? (c['bootstrapServers'] as unknown[]) : [];
  const said = new Set<number>();
  servers.forEach((s, i) => {
    const port = typeof s === 'string' ? Number(BOOTSTRAP.exec(s)?.[1]) : Number.NaN;
    const listener = MSK_PORTS[port];
    if (listener === undefined || said.has(port)) return;
    if (listener.protocol !== protocol || listener.mechanism !== mechanism) {
      said.add(port);
      const want =
        listener.mechanism === undefined
          ? `security.protocol ${listener.protocol}`
          : `security.protocol ${listener.protocol} with mechanism ${listener.mechanism}`;
      const have =
        mechanism === undefined ? `protocol ${protocol}` : `protocol ${protocol} with mechanism ${mechanism}`;
      ctx.addIssue({
        code: 'custom',
        path: ['bootstrapServers', i],
        message: `MSK port ${port} is ${listener.listener}: expected ${want}, but security says ${have}`,
      });
    }
  });
  if (mechanism === 'SCRAM-SHA-256') {
    ctx.addIssue({
      code: 'custom',
      path: ['security', 'mechanism'],
      message: 'expected SCRAM-SHA-512: MSK supports SASL/SCRAM with SHA-512 only',
    });
  }
  const credentials = sec['credentialsSecret'];
  if (mechanism === 'SCRAM-SHA-512' && typeof credentials === 'string') {
    if (!secretNameOf(credentials).startsWith('AmazonMSK_')) {
      ctx.addIssue({
        code: 'custom',
        path: ['security', 'credentialsSecret'],
        message:
          'expected a secret whose name starts with AmazonMSK_ (MSK associates SCRAM secrets by that prefix only)',
      });
    }
    if (sec['kmsKeyArn'] === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['security', 'kmsKeyArn'],
        message:
          'required with MSK SCRAM: MSK refuses secrets encrypted with the default key, so the secret has a customer managed key and the functions need kms:Decrypt on it',
      });
    }
  }
}

const route53Schema = z.strictObject({
  hostedZoneId,
  recordName: dnsName,
  ttl: integer(0, 86_400, 'expected whole seconds from 0 to 86400').default(60),
});

const drSchema = z.strictObject({
  peer: clusterName,
  route53: route53Schema.optional(),
  automaticFailover: bool.default(false),
  maxReplicationLagSeconds: integer(1, 86_400, 'expected whole seconds from 1 to 86400').default(60),
});

const brokerSchema = z.strictObject({
  id: integer(0, 2_147_483_647, 'expected a Kafka broker id: a whole number from 0 to 2147483647'),
  instanceId,
  /** The host as alerts label it (instance, hostname): an alert from that host is about this broker. */
  host: brokerHost.optional(),
});

const ec2Schema = z
  .strictObject(
    {
      metadataMode: oneOf(['zookeeper', 'kraft']),
      brokers: z.array(brokerSchema).min(1, { error: 'expected at least one broker' }).optional(),
      brokerTag: z
        .strictObject({
          key: tagKey,
          value: tagValue,
          /** The tag on each broker instance holding its Kafka broker id (workflows resolve the instance of a broker by it). */
          brokerIdKey: tagKey.default('kafka-heal:broker-id'),
        })
        .optional(),
      kafkaServiceName: serviceName.default('kafka'),
      zookeeper: z
        .strictObject({
          instanceIds: z.array(instanceId).min(1, { error: 'expected at least one ZooKeeper instance id' }),
          /** For quorum-recovery: the ZooKeeper systemd unit, client port and data directories. */
          serviceName: serviceName.optional(),
          clientPort: integer(1, 65_535, 'expected a TCP port from 1 to 65535').optional(),
          dataDir: hostPath.optional(),
          txnLogDir: hostPath.optional(),
          /**
           * The client address of every ZooKeeper server (host or host:port, the port defaulting to
           * clientPort), one per instance: the cluster steps function asks each one for its state
           * (srvr) in quorum-recovery's confirm and verify steps.
           */
          connect: z
            .array(zookeeperAddress, {
              error:
                'expected a list of ZooKeeper client addresses like [zk-1.example.com:2181, zk-2.example.com:2181]',
            })
            .optional(),
        })
        .superRefine((zk, ctx) => {
          if (zk.connect === undefined) return;
          const port = zk.clientPort ?? DEFAULT_ZOOKEEPER_CLIENT_PORT;
          uniqueBy(
            zk.connect,
            (a) => withZookeeperPort(a, port),
            ctx,
            (i) => ['connect', i],
            'ZooKeeper client addresses',
          );
          // The quorum is judged on the servers asked: a partial list could show a minority as the whole ensemble.
          if (zk.connect.length !== zk.instanceIds.length) {
            ctx.addIssue({
              code: 'custom',
              path: ['connect'],
              message: `expected one address per ZooKeeper server: instanceIds lists ${zk.instanceIds.length}, connect lists ${zk.connect.length}`,
            });
          }
        })
        .optional(),
      /** For quorum-recovery in KRaft mode: the metadata log directory on the broker hosts. */
      metadataLogDir: hostPath.optional(),
      /** Kafka installation on the broker hosts (bin/kafka-*.sh for the CLI runbook). */
      kafkaHome: hostPath.optional(),
      /**
       * The broker's server.properties on its host (the runbooks check node.id against it and read
       * log.dirs from it). Default: <kafkaHome>/config/server.properties, the tarball layout.
       */
      serverProperties: hostPath.optional(),
      /** The broker's application log directory (server.log). Default: <kafkaHome>/logs. */
      logDir: hostPath.optional(),
      /**
       * The client properties file on the broker hosts that Kafka's CLI tools run with
       * (--command-config) for a secured listener: security.protocol, sasl.*, ssl.*. Only its path
       * travels to the hosts; the credentials stay in the file.
       */
      clientPropertiesFile: hostPath.optional(),
    },
    { error: (iss) => (iss.input === undefined ? 'required when platform is ec2' : undefined) },
  )
  .superRefine(
    (value, ctx) => {
      // Also runs when a sibling field is broken, so it reads the fields defensively.
      const e = loose(value);
      const brokers = Array.isArray(e['brokers']) ? (e['brokers'] as unknown[]) : undefined;
      const hasTag = e['brokerTag'] !== undefined;
      if (brokers === undefined && !hasTag) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: 'expected exactly one of brokers (a list of {id, instanceId}) or brokerTag ({key, value})',
        });
      } else if (brokers !== undefined && hasTag) {
        ctx.addIssue({
          code: 'custom',
          path: ['brokerTag'],
          message: 'expected exactly one of brokers or brokerTag, not both',
        });
      }
      if (brokers) {
        uniqueBy(
          brokers,
          (b) => loose(b)['id'],
          ctx,
          (i) => ['brokers', i, 'id'],
          'broker ids',
        );
        uniqueBy(
          brokers,
          (b) => loose(b)['instanceId'],
          ctx,
          (i) => ['brokers', i, 'instanceId'],
          'broker instance ids',
        );
        // uniqueBy skips undefined keys: brokers without a host never clash.
        uniqueBy(
          brokers,
          (b) => (typeof loose(b)['host'] === 'string' ? String(loose(b)['host']).toLowerCase() : undefined),
          ctx,
          (i) => ['brokers', i, 'host'],
          'broker hosts',
        );
      }
      const zk = e['zookeeper'];
      if (e['metadataMode'] === 'zookeeper' && zk === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['zookeeper'],
          message: 'required when metadataMode is zookeeper: the ZooKeeper hosts as {instanceIds: [...]}',
        });
      }
      if (e['metadataMode'] === 'kraft' && zk !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['zookeeper'], message: 'only allowed when metadataMode is zookeeper' });
      }
      const zkIds = loose(zk)['instanceIds'];
      if (Array.isArray(zkIds))
        uniqueBy(
          zkIds,
          (s) => s,
          ctx,
          (i) => ['zookeeper', 'instanceIds', i],
          'ZooKeeper instance ids',
        );
    },
    { when: (payload) => isRecord(payload.value) },
  );

const mskSchema = z
  .strictObject(
    {
      clusterArn: mskClusterArn,
      /** The MSK cluster name: the "Cluster Name" dimension of AWS/Kafka metrics. */
      clusterName: mskClusterName,
      /** MSK manages the quorum either way; this only tells the runbooks which one it is. */
      metadataMode: oneOf(['zookeeper', 'kraft']).default('kraft'),
    },
    { error: (iss) => (iss.input === undefined ? 'required when platform is msk' : undefined) },
  )
  .superRefine((m, ctx) => {
    const inArn = MSK_ARN.exec(m.clusterArn)?.[2];
    if (inArn !== undefined && inArn !== m.clusterName) {
      ctx.addIssue({
        code: 'custom',
        path: ['clusterName'],
        message: `expected the cluster name in clusterArn (${inArn})`,
      });
    }
  });

const clusterCommon = {
  name: clusterName,
  brokerCount: integer(1, 1_000, 'expected the number of brokers: a whole number from 1 to 1000'),
  bootstrapServers: z
    .array(bootstrapServer, { error: 'expected a list of host:port bootstrap servers' })
    .min(1, { error: 'expected at least one bootstrap server' }),
  probe: probeSchema,
  consumerGroups: z.array(consumerGroupSchema).default([]),
  dr: drSchema.optional(),
  policy: policySchema.prefault({}),
  security: securitySchema.prefault({}),
};

const mskClusterSchema = z.strictObject({
  ...clusterCommon,
  platform: z.literal('msk'),
  msk: mskSchema,
  ec2: z.never({ error: 'not allowed when platform is msk (use the msk section)' }).optional(),
});

const ec2ClusterSchema = z.strictObject({
  ...clusterCommon,
  platform: z.literal('ec2'),
  ec2: ec2Schema,
  msk: z.never({ error: 'not allowed when platform is ec2 (use the ec2 section)' }).optional(),
});

const clusterSchema = z
  .discriminatedUnion('platform', [mskClusterSchema, ec2ClusterSchema], {
    error: (iss) => (iss.code === 'invalid_union' ? 'expected platform: msk | ec2' : undefined),
  })
  .superRefine(
    (value, ctx) => {
      // Also runs when a sibling field is broken, so it reads the fields defensively.
      const c = loose(value);
      const brokerCount = typeof c['brokerCount'] === 'number' ? c['brokerCount'] : undefined;
      const brokers = loose(c['ec2'])['brokers'];
      if (
        c['platform'] === 'ec2' &&
        Array.isArray(brokers) &&
        brokerCount !== undefined &&
        brokers.length !== brokerCount
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['brokerCount'],
          message: `expected ${brokers.length}, the number of brokers listed in ec2.brokers`,
        });
      }
      const groups = c['consumerGroups'];
      if (Array.isArray(groups))
        uniqueBy(
          groups,
          (g) => loose(g)['name'],
          ctx,
          (i) => ['consumerGroups', i, 'name'],
          'consumer group names in a cluster',
        );
      const peer = loose(c['dr'])['peer'];
      if (peer !== undefined && peer === c['name']) {
        ctx.addIssue({
          code: 'custom',
          path: ['dr', 'peer'],
          message: 'expected another cluster: a cluster cannot be its own DR peer',
        });
      }
      checkSecurity(c, ctx);
      // The record moves between the pair; each side must also be reachable by its own brokers,
      // or after a failover its probe follows the record to the peer and failback has no target.
      const record = loose(loose(c['dr'])['route53'])['recordName'];
      const servers = c['bootstrapServers'];
      if (
        typeof record === 'string' &&
        Array.isArray(servers) &&
        servers.length > 0 &&
        servers.every((s) => typeof s === 'string')
      ) {
        const bare = (h: string) => h.toLowerCase().replace(/\.$/, '');
        const own = (servers as string[]).filter(
          (s) => bare(s.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')) !== bare(record),
        );
        if (own.length === 0) {
          ctx.addIssue({
            code: 'custom',
            path: ['bootstrapServers'],
            message: `expected at least one of this cluster's own brokers besides the DR record ${record}: the record points at the peer after a failover, so the probe would watch the wrong cluster and failback could not reach this one`,
          });
        }
      }
      const blast = loose(c['policy'])['blastRadiusBrokers'];
      if (typeof blast === 'number' && brokerCount !== undefined && blast > brokerCount) {
        ctx.addIssue({
          code: 'custom',
          path: ['policy', 'blastRadiusBrokers'],
          message: `expected at most brokerCount (${brokerCount})`,
        });
      }
    },
    { when: (payload) => isRecord(payload.value) },
  );

const notificationsSchema = z.strictObject({
  pagerDutyRoutingKeySecretName: secretName.default('kafka-heal/pagerduty'),
  snsTopicArns: z.strictObject({ critical: snsTopicArn.optional(), warning: snsTopicArn.optional() }).prefault({}),
});

const alertmanagerSchema = z.strictObject({
  /**
   * A name for the secret the stack creates. Default: none, CloudFormation generates one per
   * stack (the stack outputs it), so a second deployment in the account never collides and a
   * deleted stack's secret, still in its recovery window, never blocks a redeploy.
   */
  tokenSecretName: secretName.optional(),
  /**
   * Alert name -> signal kind for alerts the built-in names do not know (matched like them: case,
   * punctuation and a trailing comparison ignored); wins over a built-in name.
   */
  kinds: z
    .record(
      z
        .string()
        .min(1, { error: 'expected an alert name' })
        .max(256, { error: 'expected an alert name of at most 256 characters' }),
      oneOf(ALERT_KINDS),
    )
    .default({})
    .superRefine((kinds, ctx) => {
      const names = Object.keys(kinds);
      const seen = new Map<string, string>();
      for (const name of names) {
        const key = alertKey(name);
        const first = seen.get(key);
        if (key === '')
          ctx.addIssue({ code: 'custom', path: [name], message: 'expected an alert name with letters or digits' });
        else if (first !== undefined && kinds[first] !== kinds[name])
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `expected one kind per alert name: "${first}" is the same name (case and punctuation aside) with kind ${kinds[first]}`,
          });
        else seen.set(key, name);
      }
    }),
  /** A label naming the broker (an id, a pod whose name ends in the id, or a broker host); read before the usual ones. */
  brokerLabel: labelName.optional(),
  /** A label naming the cluster (its name or an alias); read before the usual ones. */
  clusterLabel: labelName.optional(),
});

export const HealerConfigSchema = z
  .strictObject({
    deployment: deploymentName,
    /** The stack's region (env.region): `cdk deploy --all` deploys each config where it says. */
    region,
    /** The stack's account (env.account), when given: deploying with credentials of another account fails. */
    account: accountId.optional(),
    notifications: notificationsSchema.prefault({}),
    alertmanager: alertmanagerSchema.prefault({}),
    /**
     * API Gateway's account-level CloudWatch Logs role, which every logging stage needs:
     * `create` (the stack sets it) or `existing` (the account has it; the stack leaves it alone).
     */
    apiGatewayCloudWatchRole: oneOf(['create', 'existing']).default('create'),
    // The operators' CloudWatch dashboard and the open-incident gauges it graphs: $3 a month plus
    // the gauges' and the probe's extra custom metrics, so it is opt-in (docs/aws-stack.md#cost).
    dashboard: z.boolean({ error: 'expected true or false' }).default(false),
    // Each cluster adds some 23 resources (its probe, cluster steps, alarms, policy): ten keep the
    // stack well inside CloudFormation's 500 resources whatever the broker counts (scale.test.ts).
    clusters: z
      .array(clusterSchema, { error: 'expected a list of clusters' })
      .min(1, { error: 'expected at least one cluster' })
      .max(MAX_CLUSTERS, {
        error: `expected at most ${MAX_CLUSTERS} clusters per deployment (CloudFormation allows a stack 500 resources): split the file into several deployments`,
      }),
  })
  .superRefine(
    (cfg, ctx) => {
      // Runs even when some cluster is otherwise invalid (see `when`), so name clashes and
      // dangling DR peers show up in the same report; reads the raw shape defensively.
      const clusters: unknown[] = Array.isArray(cfg.clusters) ? cfg.clusters : [];
      // CloudWatch metrics and alarms are regional: the stack's alarms on AWS/Kafka only see a
      // cluster in the stack's own region.
      clusters.forEach((c, i) => {
        const arn = loose(loose(c)['msk'])['clusterArn'];
        const inArn = typeof arn === 'string' ? MSK_ARN.exec(arn)?.[1] : undefined;
        if (inArn !== undefined && typeof cfg.region === 'string' && REGION.test(cfg.region) && inArn !== cfg.region) {
          ctx.addIssue({
            code: 'custom',
            path: ['clusters', i, 'msk', 'clusterArn'],
            message: `expected a cluster in the stack's region ${cfg.region} (its AWS/Kafka metrics and alarms are regional), not ${inArn}`,
          });
        }
      });
      const names = clusters.map((c) => (isRecord(c) && typeof c['name'] === 'string' ? c['name'] : undefined));
      const firstIndex = new Map<string, number>();
      names.forEach((n, i) => {
        if (n === undefined) return;
        const first = firstIndex.get(n);
        if (first === undefined) firstIndex.set(n, i);
        else
          ctx.addIssue({
            code: 'custom',
            path: ['clusters', i, 'name'],
            message: `cluster names must be unique (already used by clusters[${first}])`,
          });
      });
      const drOf = (c: unknown) =>
        isRecord(c) && isRecord(c['dr']) && typeof c['dr']['peer'] === 'string' ? c['dr']['peer'] : undefined;
      clusters.forEach((c, i) => {
        const peer = drOf(c);
        if (peer === undefined || peer === names[i]) return;
        const j = firstIndex.get(peer);
        if (j === undefined) {
          const known = [...firstIndex.keys()].join(', ');
          ctx.addIssue({
            code: 'custom',
            path: ['clusters', i, 'dr', 'peer'],
            message: `expected the name of another cluster in this file (${known})`,
          });
          return;
        }
        const back = drOf(clusters[j]);
        if (back !== undefined && back !== names[i]) {
          ctx.addIssue({
            code: 'custom',
            path: ['clusters', i, 'dr', 'peer'],
            message: `expected a pair: ${peer} names ${back} as its peer, not ${names[i]}`,
          });
        }
      });
    },
    { when: (payload) => isRecord(payload.value) },
  );

export type HealerConfig = z.output<typeof HealerConfigSchema>;
export type ClusterConfig = z.output<typeof clusterSchema>;
export type MskClusterConfig = Extract<ClusterConfig, { platform: 'msk' }>;
export type Ec2ClusterConfig = Extract<ClusterConfig, { platform: 'ec2' }>;
export type MskConfig = MskClusterConfig['msk'];
export type Ec2Config = Ec2ClusterConfig['ec2'];
export type BrokerConfig = NonNullable<Ec2Config['brokers']>[number];
export type ConsumerGroupConfig = z.output<typeof consumerGroupSchema>;
export type ProbeConfig = z.output<typeof probeSchema>;
export type DrConfig = z.output<typeof drSchema>;
export type Route53Config = z.output<typeof route53Schema>;
export type PolicyConfig = z.output<typeof policySchema>;
export type NotificationsConfig = z.output<typeof notificationsSchema>;
export type SecurityConfig = z.output<typeof securitySchema>;

// ---------------------------------------------------------------------------------------------
// Parsing

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (Array.isArray(cur) && typeof seg === 'number') cur = cur[seg];
    else if (isRecord(cur) && typeof seg === 'string' && Object.hasOwn(cur, seg)) cur = cur[seg];
    else return undefined;
  }
  return cur;
}

/** Messages for zod's generic failures, in the same words as the field rules. */
const genericMessage: z.core.$ZodErrorMap = (iss) => {
  if (iss.code === 'invalid_type' && iss.expected === 'object') return 'expected a mapping of fields';
  if (iss.code === 'invalid_type' && iss.expected === 'array') return 'expected a list';
  if (iss.code === 'invalid_type' && iss.expected === 'string') return 'expected text';
  if (iss.code === 'invalid_value' && iss.values.length === 1) return `expected ${String(iss.values[0])}`;
  return undefined;
};

function toIssues(error: z.ZodError, input: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  const push = (issue: ConfigIssue) => {
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    issues.push(issue);
  };
  for (const iss of error.issues) {
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) {
        const path = [...iss.path, key];
        push({
          path: formatPath(path),
          message: 'unknown field (check the spelling and the indentation)',
          value: valueAt(input, path),
        });
      }
      continue;
    }
    // The value is read back from the document, so it is shown exactly as the operator wrote it.
    const value = valueAt(input, iss.path);
    push({ path: formatPath(iss.path), message: iss.message, ...(value === undefined ? {} : { value }) });
  }
  // Top-level fields first, then cluster by cluster, so a report reads in file order.
  const clusterIndex = (p: string) => Number(/^clusters\[(\d+)\]/.exec(p)?.[1] ?? -1);
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => clusterIndex(a.issue.path) - clusterIndex(b.issue.path) || a.i - b.i)
    .map((x) => x.issue);
}

/** Validate an already-parsed document (YAML/JSON value) and fill defaults. */
export function validateConfig(input: unknown, source: string): HealerConfig {
  const result = HealerConfigSchema.safeParse(input, { error: genericMessage });
  if (result.success) return result.data;
  throw new ConfigError(source, toIssues(result.error, input));
}

/**
 * Parse configuration text. YAML 1.2 is a superset of JSON, so one parser reads both; duplicate
 * keys and syntax errors are reported with their line like any other issue.
 */
export function parseConfig(text: string, source: string): HealerConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => {
        const at = lines.linePos(e.pos[0]);
        return {
          path: '',
          message: `not valid YAML or JSON (line ${at.line}, column ${at.col}): ${e.message.split('\n')[0]}`,
        };
      }),
    );
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === undefined || value === null) {
    throw new ConfigError(source, [{ path: '', message: 'expected a configuration document, the file is empty' }]);
  }
  return validateConfig(value, source);
}

/** Read and validate a configuration file; an unreadable file is a ConfigError too. */
export function loadConfigFile(path: string): HealerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a file' : (err as Error).message;
    throw new ConfigError(path, [{ path: '', message: `cannot read the configuration file: ${why}` }]);
  }
  return parseConfig(text, path);
}

// ---------------------------------------------------------------------------------------------
// Derived views

/** The facts the classifier needs about each cluster. */
export function clusterFacts(config: HealerConfig): ClusterFacts[] {
  return config.clusters.map((c) => {
    const aliases =
      c.platform === 'msk' ? [...new Set([c.msk.clusterName, c.msk.clusterArn])].filter((a) => a !== c.name) : [];
    return {
      name: c.name,
      aliases,
      platform: c.platform,
      metadataMode: c.platform === 'msk' ? c.msk.metadataMode : c.ec2.metadataMode,
      brokerCount: c.brokerCount,
      hasDr: c.dr?.route53 !== undefined,
      automaticFailover: c.dr?.automaticFailover ?? false,
    };
  });
}

/**
 * How the webhook reads alerts for this deployment (functions/domain/normalize: AlertRouting): the
 * configured alert names by their matching key, the broker and cluster labels, and each EC2
 * cluster's broker hosts. Bundled with the ingest and webhook Lambdas as a file (ALERT_ROUTING_FILE).
 */
export function alertRouting(config: HealerConfig): AlertRouting {
  const kinds: Record<string, SignalKind> = {};
  for (const [name, kind] of Object.entries(config.alertmanager.kinds))
    Object.defineProperty(kinds, alertKey(name), { value: kind, enumerable: true, writable: true, configurable: true });
  const brokerHosts: Record<string, Record<string, number>> = {};
  for (const c of config.clusters) {
    if (c.platform !== 'ec2') continue;
    const hosts = (c.ec2.brokers ?? []).filter((b) => b.host !== undefined);
    if (hosts.length > 0)
      brokerHosts[c.name] = Object.fromEntries(hosts.map((b) => [(b.host as string).toLowerCase(), b.id]));
  }
  return {
    kinds,
    brokerHosts,
    ...(config.alertmanager.brokerLabel !== undefined ? { brokerLabel: config.alertmanager.brokerLabel } : {}),
    ...(config.alertmanager.clusterLabel !== undefined ? { clusterLabel: config.alertmanager.clusterLabel } : {}),
  };
}

/** Where Kafka is installed on a self-managed broker host when the config does not say (the tarball's usual place). */
export const DEFAULT_KAFKA_HOME = '/opt/kafka';

/** A self-managed cluster's host paths, defaults filled from kafkaHome (the Apache Kafka tarball layout). */
export function brokerHostPaths(ec2: Ec2Config): { kafkaHome: string; serverProperties: string; logDir: string } {
  const kafkaHome = ec2.kafkaHome ?? DEFAULT_KAFKA_HOME;
  return {
    kafkaHome,
    serverProperties: ec2.serverProperties ?? `${kafkaHome}/config/server.properties`,
    logDir: ec2.logDir ?? `${kafkaHome}/logs`,
  };
}

/** `host:port`, with `port` added to an address written without one. */
export function withZookeeperPort(address: string, port: number): string {
  // A validated address is a DNS name, an IPv4 address or a bracketed IPv6 address, each maybe with :port.
  return /^(?:\[[^\]]*\]|[^:]+):\d+$/.test(address) ? address : `${address}:${port}`;
}

/**
 * The client addresses (host:port) of a self-managed ZooKeeper-mode cluster's ensemble, as the
 * cluster steps function gets them (ZOOKEEPER_CONNECT); undefined when the config does not list them.
 */
export function zookeeperConnect(cluster: ClusterConfig): string[] | undefined {
  if (cluster.platform !== 'ec2' || cluster.ec2.metadataMode !== 'zookeeper') return undefined;
  const zk = cluster.ec2.zookeeper;
  if (zk?.connect === undefined) return undefined;
  const port = zk.clientPort ?? DEFAULT_ZOOKEEPER_CLIENT_PORT;
  return zk.connect.map((a) => withZookeeperPort(a, port));
}

/**
 * Every key path the file accepts, derived from the schema itself so documentation can be
 * checked against it: `deployment`, `clusters[].ec2.brokers[].id`, `clusters[].policy.mode`...
 */
export function configFieldPaths(): string[] {
  const out = new Set<string>();
  const walk = (schema: z.core.$ZodType, prefix: string): void => {
    const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
    switch (def.type) {
      case 'object':
        for (const [key, child] of Object.entries(def['shape'] as Record<string, z.core.$ZodType>)) {
          if ((child._zod.def as { type: string }).type === 'never') continue;
          if (
            ((child._zod.def as { innerType?: z.core.$ZodType }).innerType?._zod.def as { type?: string } | undefined)
              ?.type === 'never'
          )
            continue;
          const path = prefix === '' ? key : `${prefix}.${key}`;
          out.add(path);
          walk(child, path);
        }
        return;
      case 'array':
        walk(def['element'] as z.core.$ZodType, `${prefix}[]`);
        return;
      case 'union':
        for (const option of def['options'] as z.core.$ZodType[]) walk(option, prefix);
        return;
      case 'optional':
      case 'default':
      case 'prefault':
      case 'nullable':
        walk(def['innerType'] as z.core.$ZodType, prefix);
        return;
      case 'pipe':
        walk(def['in'] as z.core.$ZodType, prefix);
        return;
      default:
        return;
    }
  };
  walk(HealerConfigSchema, '');
  return [...out].sort();
}

/**
 * The file's shape as JSON Schema (draft 2020-12), for editors and documentation. Cross-field
 * rules (platform sections, unique names, DR pairs) are not expressible there; only
 * parseConfig is authoritative.
 */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(HealerConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
