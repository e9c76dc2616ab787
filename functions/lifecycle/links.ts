// Signed incident links: acknowledge or resolve an incident from a page or an e-mail, by the same
// rules as approval links (functions/approvals/links.ts): a link carries the incident id, the one
// action it grants and its expiry, with an HMAC-SHA256 over those three under the approval signing
// key (its own domain prefix, so no approval signature is ever a valid incident link or the other
// way round). A link decides once (LifecycleRecords.useLink); the page signs nothing.
//
//   <base>/incidents/<incidentId>?action=acknowledge&expires=<epoch s>&sig=<base64url HMAC>
import { createHmac, timingSafeEqual } from 'node:crypto';

export const INCIDENT_LINK_ACTIONS = ['acknowledge', 'resolve'] as const;
export type IncidentLinkAction = (typeof INCIDENT_LINK_ACTIONS)[number];

/** How long the links in a page stay good: as long as the escalation ladder runs. */
export const INCIDENT_LINK_TTL_SECONDS = 24 * 3600;

export interface IncidentLinkClaims {
  incidentId: string;
  action: IncidentLinkAction;
  expires: number;
}

export type IncidentLinkCheck =
  | { ok: true; claims: IncidentLinkClaims }
  | { ok: false; why: 'malformed' | 'bad-signature' | 'expired'; claims?: IncidentLinkClaims };

export const INCIDENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:#-]{0,199}$/;

function mac(key: Buffer, c: IncidentLinkClaims): Buffer {
  return createHmac('sha256', key).update(`kafka-heal-incident\n${c.incidentId}\n${c.action}\n${c.expires}`).digest();
}

export function signIncidentLink(key: Buffer, claims: IncidentLinkClaims): string {
  return mac(key, claims).toString('base64url');
}

/** Checks a link's claims and signature (constant time), then its expiry at `nowMs`. */
export function verifyIncidentLink(
  key: Buffer,
  raw: {
    incidentId?: string | undefined;
    action?: string | undefined;
    expires?: string | undefined;
    sig?: string | undefined;
  },
  nowMs: number,
): IncidentLinkCheck {
  const { incidentId, action, expires, sig } = raw;
  if (incidentId === undefined || !INCIDENT_ID.test(incidentId)) return { ok: false, why: 'malformed' };
  if (action !== 'acknowledge' && action !== 'resolve') return { ok: false, why: 'malformed' };
  if (expires === undefined || !/^\d{1,12}$/.test(expires)) return { ok: false, why: 'malformed' };
  if (sig === undefined || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return { ok: false, why: 'malformed' };
  const claims: IncidentLinkClaims = { incidentId, action, expires: Number(expires) };
  const given = Buffer.from(sig, 'base64url');
  const expected = mac(key, claims);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, why: 'bad-signature' };
  if (nowMs >= claims.expires * 1000) return { ok: false, why: 'expired', claims };
  return { ok: true, claims };
}

/** A full link under the incident page's base URL (the approval API's stage URL). */
export function incidentLink(baseUrl: string, key: Buffer, claims: IncidentLinkClaims): string {
  const q = new URLSearchParams({
    action: claims.action,
    expires: String(claims.expires),
    sig: signIncidentLink(key, claims),
  });
  return `${baseUrl.replace(/\/+$/, '')}/incidents/${encodeURIComponent(claims.incidentId)}?${q.toString()}`;
}

/** The acknowledge and resolve links of an incident, as notifications carry them. */
export function incidentLinks(
  baseUrl: string,
  key: Buffer,
  incidentId: string,
  now: Date,
  ttlSeconds = INCIDENT_LINK_TTL_SECONDS,
): { acknowledge: string; resolve: string; linksExpireAt: string } {
  const expires = Math.floor(now.getTime() / 1000) + ttlSeconds;
  return {
    acknowledge: incidentLink(baseUrl, key, { incidentId, action: 'acknowledge', expires }),
    resolve: incidentLink(baseUrl, key, { incidentId, action: 'resolve', expires }),
    linksExpireAt: new Date(expires * 1000).toISOString(),
  };
}
