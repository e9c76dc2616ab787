// Signed approve/reject links. A link carries the approval id, the decision it grants, its expiry
// and an HMAC-SHA256 over those three under a key kept in Secrets Manager:
//
//   <base>/approvals/<approvalId>?decision=approve&expires=<epoch s>&sig=<base64url HMAC>
//
// Whoever holds a valid link may decide that approval until it expires; the approval record's
// conditional write makes the decision single-use (store.ts). Verification compares in constant
// time and checks the expiry against an injected clock; the key never appears in a log, an
// error or a returned value.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { cachedSecret } from '../shared/secrets.js';

export type LinkDecision = 'approve' | 'reject';

export interface LinkClaims {
  approvalId: string;
  decision: LinkDecision;
  /** Epoch seconds after which the link no longer decides anything. */
  expires: number;
}

/** Why a link does not verify; `expired` is told apart so the page can say so. */
export type LinkCheck =
  { ok: true; claims: LinkClaims } | { ok: false; why: 'malformed' | 'bad-signature' | 'expired'; claims?: LinkClaims };

/** The signing key secret is missing, empty or too short to sign with. */
export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError';
}

/** HMAC keys shorter than this (bytes) are refused: the link must not be guessable. */
export const MIN_KEY_BYTES = 32;

const APPROVAL_ID = /^[A-Za-z0-9_-]{16,64}$/;

function mac(key: Buffer, c: LinkClaims): Buffer {
  return createHmac('sha256', key).update(`kafka-heal-approval\n${c.approvalId}\n${c.decision}\n${c.expires}`).digest();
}

export function sign(key: Buffer, claims: LinkClaims): string {
  return mac(key, claims).toString('base64url');
}

/** Checks a link's claims and signature (constant time), then its expiry at `nowMs`. */
export function verify(
  key: Buffer,
  raw: { approvalId?: string; decision?: string; expires?: string; sig?: string },
  nowMs: number,
): LinkCheck {
  const { approvalId, decision, expires, sig } = raw;
  if (approvalId === undefined || !APPROVAL_ID.test(approvalId)) return { ok: false, why: 'malformed' };
  if (decision !== 'approve' && decision !== 'reject') return { ok: false, why: 'malformed' };
  if (expires === undefined || !/^\d{1,12}$/.test(expires)) return { ok: false, why: 'malformed' };
  if (sig === undefined || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return { ok: false, why: 'malformed' };
  const claims: LinkClaims = { approvalId, decision, expires: Number(expires) };
  const expected = mac(key, claims);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, why: 'bad-signature' };
  if (nowMs >= claims.expires * 1000) return { ok: false, why: 'expired', claims };
  return { ok: true, claims };
}

/** The query string of a signed link. */
export function linkQuery(key: Buffer, claims: LinkClaims): string {
  return new URLSearchParams({
    decision: claims.decision,
    expires: String(claims.expires),
    sig: sign(key, claims),
  }).toString();
}

/** A full approve or reject link under the approval endpoint's base URL. */
export function approvalLink(baseUrl: string, key: Buffer, claims: LinkClaims): string {
  return `${baseUrl.replace(/\/+$/, '')}/approvals/${encodeURIComponent(claims.approvalId)}?${linkQuery(key, claims)}`;
}

export interface SigningKeySource {
  get(): Promise<Buffer>;
}

export function staticSigningKey(key: Buffer): SigningKeySource {
  if (key.length < MIN_KEY_BYTES)
    throw new SigningKeyError(`the approval signing key must be at least ${MIN_KEY_BYTES} bytes`);
  return { get: () => Promise.resolve(key) };
}

/**
 * Reads the signing key from Secrets Manager (a generated secret string; at least 32 bytes) and
 * caches it for `ttlMs` (default 5 minutes, so a rotation is picked up without a deploy). Links
 * signed with the old key stop verifying after a rotation: rotate between approvals.
 */
export function signingKeyFromSecret(opts: {
  client: Pick<SecretsManagerClient, 'send'>;
  secretId: string;
  ttlMs?: number;
  now?: () => number;
}): SigningKeySource {
  return cachedSecret({ ...opts, parse: parseKey });
}

function parseKey(text: string | undefined, secretId: string): Buffer {
  if (text === undefined || text.length === 0) throw new SigningKeyError(`secret ${secretId} has no string value`);
  const key = Buffer.from(text, 'utf8');
  if (key.length < MIN_KEY_BYTES)
    throw new SigningKeyError(
      `secret ${secretId} holds ${key.length} bytes; the approval signing key needs at least ${MIN_KEY_BYTES}`,
    );
  return key;
}
