// A local Route 53 hosted zone for the DR workflows: a JSON file (under a drill's work folder)
// that `route53:changeResourceRecordSets`, `route53:getChange` and
// `route53:listResourceRecordSets` act on with the service's semantics, and a resolver through
// which the drill's clients find the bootstrap servers behind the record name.
//
// Semantics kept from Route 53:
// - A change batch is validated as a whole and applied atomically, or refused:
//   `Route53.InvalidChangeBatchException` (CREATE of an existing set, DELETE of a missing or
//   different set, a name outside the zone, a CNAME beside other data or at the apex, two changes
//   to one set), `Route53.InvalidInputException` (unknown action or type, TTL out of range, no
//   values), `Route53.NoSuchHostedZoneException`. Names compare case-insensitively with the
//   trailing dot optional. Error names follow Step Functions' `<Service>.<SDK exception>` form.
// - The answer is ChangeInfo with Status PENDING; getChange reports PENDING until the change has
//   propagated (`propagationMs`, and at least `minPendingPolls` PENDING answers), then INSYNC.
//   Resolvers see the new value only once the change is INSYNC, as Route 53's name servers do.
// - Resolvers cache an answer for the record's TTL, like clients' DNS caches: a client that
//   resolved the old value keeps it until the TTL expires.
// Local clusters share 127.0.0.1 and differ by port, which DNS cannot express: the record's
// final name (after CNAMEs) is looked up in an endpoint map (name -> host:port list), standing
// for the listeners that name would reach in production.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { TaskError, type BindingRegistry, type Json } from './runtime.js';

export const ROUTE53_RESOURCES = {
  changeResourceRecordSets: 'arn:aws:states:::aws-sdk:route53:changeResourceRecordSets',
  getChange: 'arn:aws:states:::aws-sdk:route53:getChange',
  listResourceRecordSets: 'arn:aws:states:::aws-sdk:route53:listResourceRecordSets',
} as const;

/** Record types the local zone serves (the DR record is a CNAME; A/TXT for completeness). */
export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

export interface RecordSet {
  Name: string;
  Type: RecordType;
  TTL: number;
  ResourceRecords: { Value: string }[];
}

interface ChangeEntry {
  Id: string;
  Comment?: string;
  SubmittedAt: string;
  /** Epoch ms when the change is INSYNC (if also polled PENDING often enough). */
  insyncAt: number;
  polls: number;
  applied: boolean;
  changes: { Action: 'CREATE' | 'DELETE' | 'UPSERT'; ResourceRecordSet: RecordSet }[];
}

interface ZoneFile {
  hostedZoneId: string;
  /** The apex, lowercase with the trailing dot (e.g. `drill.local.`). */
  name: string;
  /** What the name servers answer (changes become visible here once INSYNC). */
  records: RecordSet[];
  changes: ChangeEntry[];
}

export interface LocalZoneOptions {
  file: string;
  hostedZoneId: string;
  zoneName: string;
  /** Records the zone starts with (only when the file does not exist yet). */
  records?: RecordSet[];
  /** How long a change stays PENDING; default 2000 ms. */
  propagationMs?: number;
  /** PENDING answers getChange gives at least; default 1. */
  minPendingPolls?: number;
  now?: () => number;
}

/** Lowercase, with the trailing dot. */
export function fqdn(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

const invalidBatch = (msg: string) => new TaskError('Route53.InvalidChangeBatchException', msg);
const invalidInput = (msg: string) => new TaskError('Route53.InvalidInputException', msg);

function asObject(v: Json | undefined, what: string): Record<string, Json> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidInput(`${what} must be an object`);
  return v;
}

/** Parses one Change of a ChangeBatch (shape and values; zone rules come after). */
function parseChange(raw: Json, i: number): ChangeEntry['changes'][number] {
  const c = asObject(raw, `Changes[${i}]`);
  const action = c.Action;
  if (action !== 'CREATE' && action !== 'DELETE' && action !== 'UPSERT')
    throw invalidInput(`Changes[${i}].Action must be CREATE, DELETE or UPSERT, got ${JSON.stringify(action)}`);
  const s = asObject(c.ResourceRecordSet, `Changes[${i}].ResourceRecordSet`);
  if (typeof s.Name !== 'string' || s.Name.trim() === '')
    throw invalidInput(`Changes[${i}].ResourceRecordSet.Name is required`);
  if (typeof s.Type !== 'string' || !(RECORD_TYPES as readonly string[]).includes(s.Type))
    throw invalidInput(
      `Changes[${i}].ResourceRecordSet.Type ${JSON.stringify(s.Type)} is not one of ${RECORD_TYPES.join(', ')}`,
    );
  const ttl = typeof s.TTL === 'string' ? Number(s.TTL) : s.TTL;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > 2_147_483_647)
    throw invalidInput(`Changes[${i}].ResourceRecordSet.TTL must be a whole number of seconds from 0 to 2147483647`);
  const values = s.ResourceRecords;
  if (!Array.isArray(values) || values.length === 0)
    throw invalidInput(`Changes[${i}].ResourceRecordSet.ResourceRecords needs at least one value`);
  const recs = values.map((v, j) => {
    const value = asObject(v, `ResourceRecords[${j}]`).Value;
    if (typeof value !== 'string' || value.trim() === '')
      throw invalidInput(`Changes[${i}].ResourceRecordSet.ResourceRecords[${j}].Value is required`);
    return { Value: value };
  });
  return {
    Action: action,
    ResourceRecordSet: { Name: fqdn(s.Name), Type: s.Type as RecordType, TTL: ttl, ResourceRecords: recs },
  };
}

const sameSet = (a: RecordSet, b: RecordSet) => a.Name === b.Name && a.Type === b.Type;
const sameValues = (a: RecordSet, b: RecordSet) =>
  a.TTL === b.TTL &&
  JSON.stringify(a.ResourceRecords.map((r) => r.Value.toLowerCase()).sort()) ===
    JSON.stringify(b.ResourceRecords.map((r) => r.Value.toLowerCase()).sort());

/** Applies validated changes to a copy of the records, enforcing the zone's rules; throws InvalidChangeBatch. */
function applyChanges(records: RecordSet[], zoneName: string, changes: ChangeEntry['changes']): RecordSet[] {
  const out = records.map((r) => ({ ...r }));
  changes.forEach((c, i) => {
    const set = c.ResourceRecordSet;
    if (changes.findIndex((o) => sameSet(o.ResourceRecordSet, set)) !== i)
      throw invalidBatch(`The request contains more than one change for ${set.Name} type ${set.Type}`);
    if (set.Name !== zoneName && !set.Name.endsWith(`.${zoneName}`))
      throw invalidBatch(`RRSet with DNS name ${set.Name} is not permitted in zone ${zoneName}`);
    const at = out.findIndex((r) => sameSet(r, set));
    if (c.Action === 'DELETE') {
      if (at < 0)
        throw invalidBatch(
          `Tried to delete resource record set [name='${set.Name}', type='${set.Type}'] but it was not found`,
        );
      if (!sameValues(out[at] as RecordSet, set))
        throw invalidBatch(
          `Tried to delete resource record set [name='${set.Name}', type='${set.Type}'] but the values provided do not match the current values`,
        );
      out.splice(at, 1);
      return;
    }
    if (c.Action === 'CREATE' && at >= 0)
      throw invalidBatch(
        `Tried to create resource record set [name='${set.Name}', type='${set.Type}'] but it already exists`,
      );
    if (set.Type === 'CNAME') {
      if (set.Name === zoneName)
        throw invalidBatch(
          `RRSet of type CNAME with DNS name ${set.Name} is not permitted at apex in zone ${zoneName}`,
        );
      if (set.ResourceRecords.length > 1)
        throw invalidBatch(`RRSet of type CNAME with DNS name ${set.Name} has more than one value`);
    }
    const others = out.filter((r) => r.Name === set.Name && r.Type !== set.Type);
    if (
      (set.Type === 'CNAME' && others.length > 0) ||
      (set.Type !== 'CNAME' && others.some((r) => r.Type === 'CNAME'))
    ) {
      throw invalidBatch(
        `RRSet of type ${set.Type} with DNS name ${set.Name} is not permitted because a conflicting RRSet of type ${set.Type === 'CNAME' ? others[0]?.Type : 'CNAME'} with the same DNS name already exists`,
      );
    }
    const stored = { ...set, ResourceRecords: set.ResourceRecords.map((r) => ({ ...r })) };
    if (at >= 0) out[at] = stored;
    else out.push(stored);
  });
  return out;
}

/** Route 53's listing order: by name with labels reversed, then type. */
function listingKey(r: { Name: string; Type: string }): string {
  return `${r.Name.split('.').reverse().join('.')} ${r.Type}`;
}

export class LocalZone {
  readonly file: string;
  readonly hostedZoneId: string;
  readonly zoneName: string;
  private readonly propagationMs: number;
  private readonly minPendingPolls: number;
  private readonly now: () => number;

  constructor(opts: LocalZoneOptions) {
    this.file = opts.file;
    this.hostedZoneId = opts.hostedZoneId;
    this.zoneName = fqdn(opts.zoneName);
    this.propagationMs = opts.propagationMs ?? 2000;
    this.minPendingPolls = opts.minPendingPolls ?? 1;
    this.now = opts.now ?? Date.now;
    if (!existsSync(this.file)) {
      const records = applyChanges(
        [],
        this.zoneName,
        (opts.records ?? []).map((r, i) =>
          parseChange({ Action: 'CREATE', ResourceRecordSet: r as unknown as Json }, i),
        ),
      );
      this.write({ hostedZoneId: this.hostedZoneId, name: this.zoneName, records, changes: [] });
    }
  }

  private read(): ZoneFile {
    const z = JSON.parse(readFileSync(this.file, 'utf8')) as ZoneFile;
    // Changes that have propagated become what the name servers answer.
    let dirty = false;
    for (const c of z.changes) {
      if (!c.applied && this.now() >= c.insyncAt && c.polls >= this.minPendingPolls) {
        z.records = applyChanges(z.records, z.name, c.changes);
        c.applied = true;
        dirty = true;
      }
    }
    if (dirty) this.write(z);
    return z;
  }

  private write(z: ZoneFile): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(z, null, 2)}\n`);
    renameSync(tmp, this.file);
  }

  private checkZone(id: Json | undefined): void {
    const want = typeof id === 'string' ? id.replace(/^\/hostedzone\//, '') : '';
    if (want !== this.hostedZoneId)
      throw new TaskError('Route53.NoSuchHostedZoneException', `No hosted zone found with ID: ${want || '(none)'}`);
  }

  /** Accepted state: published records plus every change not yet INSYNC, in order. */
  private accepted(z: ZoneFile): RecordSet[] {
    return z.changes.filter((c) => !c.applied).reduce((recs, c) => applyChanges(recs, z.name, c.changes), z.records);
  }

  changeResourceRecordSets(params: Json): {
    ChangeInfo: { Id: string; Status: 'PENDING'; SubmittedAt: string; Comment?: string };
  } {
    const p = asObject(params, 'changeResourceRecordSets parameters');
    this.checkZone(p.HostedZoneId);
    const batch = asObject(p.ChangeBatch, 'ChangeBatch');
    if (!Array.isArray(batch.Changes) || batch.Changes.length === 0)
      throw invalidInput('ChangeBatch.Changes needs at least one change');
    const changes = batch.Changes.map(parseChange);
    const z = this.read();
    applyChanges(this.accepted(z), z.name, changes); // validates the batch against what was accepted so far
    const submitted = this.now();
    const entry: ChangeEntry = {
      Id: `/change/C${randomBytes(10).toString('hex').toUpperCase()}`,
      SubmittedAt: new Date(submitted).toISOString(),
      insyncAt: submitted + this.propagationMs,
      polls: 0,
      applied: false,
      changes,
      ...(typeof batch.Comment === 'string' ? { Comment: batch.Comment } : {}),
    };
    z.changes.push(entry);
    this.write(z);
    return {
      ChangeInfo: {
        Id: entry.Id,
        Status: 'PENDING',
        SubmittedAt: entry.SubmittedAt,
        ...(entry.Comment !== undefined ? { Comment: entry.Comment } : {}),
      },
    };
  }

  getChange(params: Json): { ChangeInfo: { Id: string; Status: 'PENDING' | 'INSYNC'; SubmittedAt: string } } {
    const id = asObject(params, 'getChange parameters').Id;
    const wanted = typeof id === 'string' ? (id.startsWith('/change/') ? id : `/change/${id}`) : '';
    const z = JSON.parse(readFileSync(this.file, 'utf8')) as ZoneFile;
    const c = z.changes.find((x) => x.Id === wanted);
    if (!c)
      throw new TaskError(
        'Route53.NoSuchChangeException',
        `A change with the specified change ID does not exist: ${String(id)}`,
      );
    if (!c.applied && c.polls < this.minPendingPolls) {
      c.polls++;
      this.write(z);
      return { ChangeInfo: { Id: c.Id, Status: 'PENDING', SubmittedAt: c.SubmittedAt } };
    }
    const after = this.read().changes.find((x) => x.Id === wanted) as ChangeEntry;
    return { ChangeInfo: { Id: c.Id, Status: after.applied ? 'INSYNC' : 'PENDING', SubmittedAt: c.SubmittedAt } };
  }

  listResourceRecordSets(params: Json): {
    ResourceRecordSets: RecordSet[];
    IsTruncated: boolean;
    MaxItems: string;
    NextRecordName?: string;
    NextRecordType?: string;
  } {
    const p = asObject(params, 'listResourceRecordSets parameters');
    this.checkZone(p.HostedZoneId);
    if (p.StartRecordType !== undefined && p.StartRecordName === undefined)
      throw invalidInput('StartRecordType requires StartRecordName');
    const max = p.MaxItems === undefined ? 300 : Number(p.MaxItems);
    if (!Number.isInteger(max) || max < 1) throw invalidInput('MaxItems must be a positive whole number');
    const all = this.accepted(this.read()).sort((a, b) => listingKey(a).localeCompare(listingKey(b)));
    const from =
      typeof p.StartRecordName === 'string'
        ? listingKey({
            Name: fqdn(p.StartRecordName),
            Type: typeof p.StartRecordType === 'string' ? p.StartRecordType : '',
          })
        : '';
    const rest = all.filter((r) => listingKey(r) >= from);
    const page = rest.slice(0, max);
    const next = rest[max];
    return {
      ResourceRecordSets: page,
      IsTruncated: next !== undefined,
      MaxItems: String(max),
      ...(next ? { NextRecordName: next.Name, NextRecordType: next.Type } : {}),
    };
  }

  /** What the name servers answer now for a name and type (after propagation). */
  lookup(name: string, type: RecordType): RecordSet | undefined {
    return this.read().records.find((r) => r.Name === fqdn(name) && r.Type === type);
  }
}

/** `route53:changeResourceRecordSets`, `route53:getChange`, `route53:listResourceRecordSets` on a local zone. */
export function route53Bindings(zone: LocalZone): BindingRegistry {
  return {
    [ROUTE53_RESOURCES.changeResourceRecordSets]: (input) => zone.changeResourceRecordSets(input) as unknown as Json,
    [ROUTE53_RESOURCES.getChange]: (input) => zone.getChange(input) as unknown as Json,
    [ROUTE53_RESOURCES.listResourceRecordSets]: (input) => zone.listResourceRecordSets(input) as unknown as Json,
  };
}

export class NameNotResolvedError extends Error {
  override readonly name = 'NameNotResolvedError';
}

export interface ZoneResolverOptions {
  zone: LocalZone;
  /** Final names (after CNAMEs) -> the host:port listeners they stand for. */
  endpoints: Record<string, string[]>;
  now?: () => number;
}

/**
 * Resolves `name` (or `name:port`) to bootstrap servers through the zone: CNAMEs are followed
 * (at most 8), the final name is looked up in the endpoint map. Answers are cached for the TTL
 * of the first record, as a client's resolver would.
 */
export function zoneResolver(opts: ZoneResolverOptions): { resolve: (name: string) => string[]; flush: () => void } {
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { until: number; servers: string[] }>();
  const endpoints = new Map(Object.entries(opts.endpoints).map(([k, v]) => [fqdn(k), v]));
  return {
    flush: () => cache.clear(),
    resolve: (hostPort) => {
      const name = fqdn(hostPort.replace(/:\d+$/, ''));
      const hit = cache.get(name);
      if (hit && hit.until > now()) return hit.servers;
      let current = name;
      let ttl: number | undefined;
      for (let hops = 0; hops < 8; hops++) {
        const cname = opts.zone.lookup(current, 'CNAME');
        if (!cname) break;
        ttl ??= cname.TTL;
        current = fqdn((cname.ResourceRecords[0] as { Value: string }).Value);
      }
      const servers = endpoints.get(current);
      if (!servers) throw new NameNotResolvedError(`${name} resolves to ${current}, which leads to no local endpoint`);
      cache.set(name, { until: now() + (ttl ?? 0) * 1000, servers });
      return servers;
    },
  };
}
