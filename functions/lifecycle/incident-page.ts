// The incident page as HTML: what the person needs to decide (type, severity, status, cluster,
// brokers, who acknowledged, the latest timeline entries) and the one button its link grants
// (Acknowledge or Resolve), with a name and an optional reason; and the notices after it. Pure
// rendering in the approval page's style: every value escaped, nothing fetched, no scripts, the
// form posts back to the link's own URL carrying the link's own signature.
import { escapeHtml, pageDocument } from '../approvals/page.js';
import type { IncidentWithTimeline } from '../shared/store/index.js';
import type { IncidentLinkAction } from './links.js';

export interface IncidentPageLink {
  action: IncidentLinkAction;
  expires: number;
  sig: string;
}

const VERB: Record<IncidentLinkAction, { button: string; title: string; means: string }> = {
  acknowledge: {
    button: 'Acknowledge',
    title: 'Acknowledge',
    means:
      'Acknowledging says you are on it: PagerDuty is acknowledged and the escalation ladder pages no further level. Nothing on the cluster changes.',
  },
  resolve: {
    button: 'Resolve',
    title: 'Resolve',
    means:
      'Resolving closes the incident: a workflow still acting for it is stopped, PagerDuty is resolved. Resolve only when the cluster is healthy again.',
  },
};

export function incidentPage(i: IncidentWithTimeline, link: IncidentPageLink): string {
  const rows: [string, string, string][] = [
    ['Incident', i.id, 'incident'],
    ['Type', i.type, 'type'],
    ['Severity', i.severity, 'severity'],
    ['Status', i.status, 'status'],
    ['Cluster', i.cluster, 'cluster'],
    ['Brokers', i.brokers.map((b) => b.id).join(', ') || 'none named', 'brokers'],
    ['Detected', i.detectedAt, 'detected'],
    [
      'Acknowledged',
      i.acknowledgedAt === undefined ? 'not yet' : `${i.acknowledgedAt} by ${i.acknowledgedBy ?? '?'}`,
      'acknowledged',
    ],
    ['Link expires', new Date(link.expires * 1000).toISOString(), 'expires'],
  ];
  const facts = `<dl>${rows.map(([k, v, id]) => `<dt>${k}</dt><dd data-testid="${id}"${id === 'severity' ? ` class="sev sev-${escapeHtml(v)}"` : ''}>${escapeHtml(v)}</dd>`).join('')}</dl>`;
  const recent = [...i.timeline].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).slice(-10);
  const timeline = recent.length
    ? `<ol class="actions" data-testid="timeline">${recent.map((e) => `<li>${escapeHtml(`${e.at} ${e.actor} ${e.action}${e.detail ? `: ${e.detail}` : ''}`)}</li>`).join('')}</ol>`
    : '<p data-testid="timeline"><small>Nothing on the timeline yet.</small></p>';
  const v = VERB[link.action];
  const other = link.action === 'acknowledge' ? 'resolve' : 'acknowledge';
  const body = `<h1 data-testid="summary">${escapeHtml(`${i.severity} ${i.type} on ${i.cluster}`)}</h1>
${facts}
<h2>Latest on the timeline</h2>
${timeline}
<p><small>${escapeHtml(v.means)}</small></p>
<p data-testid="one-action"><small>This link can only ${link.action}. To ${other} instead, use the ${other} link from the same notification, or run <code>kafka-heal incidents ${other === 'acknowledge' ? 'ack' : 'resolve'}</code> with the incident id.</small></p>
<form method="post">
<input type="hidden" name="action" value="${link.action}">
<input type="hidden" name="expires" value="${link.expires}">
<input type="hidden" name="sig" value="${escapeHtml(link.sig)}">
<label for="by">Your name</label><input type="text" id="by" name="by" maxlength="100" autocomplete="name">
<label for="reason">Reason (optional)</label><textarea id="reason" name="reason" rows="3" maxlength="500"></textarea>
<div class="buttons"><button class="${link.action === 'acknowledge' ? 'approve' : 'reject'}" type="submit">${v.button}</button></div>
</form>`;
  return pageDocument(`${v.title} ${i.id}?`, body);
}

export type IncidentNoticeKind =
  | 'acknowledged'
  | 'already-acknowledged'
  | 'resolved'
  | 'closed'
  | 'used'
  | 'expired'
  | 'invalid'
  | 'not-found'
  | 'unavailable';

export function incidentNotice(
  kind: IncidentNoticeKind,
  detail: { incidentId?: string; who?: string; at?: string; status?: string } = {},
): string {
  const id = escapeHtml(detail.incidentId ?? '');
  const by = detail.who === undefined ? '' : ` by ${escapeHtml(detail.who)}`;
  const when = detail.at === undefined ? '' : ` at ${escapeHtml(detail.at)}`;
  const text: Record<IncidentNoticeKind, [string, string]> = {
    acknowledged: [
      'Acknowledged',
      `Incident ${id} is acknowledged${by}. PagerDuty is told; the escalation ladder pages no further level.`,
    ],
    'already-acknowledged': [
      'Already acknowledged',
      `Incident ${id} was already acknowledged${by}${when}. Nothing was changed.`,
    ],
    resolved: [
      'Resolved',
      `Incident ${id} is resolved${by}. A workflow still acting for it was stopped; PagerDuty is told.`,
    ],
    closed: [
      'Already closed',
      `Incident ${id} is already ${escapeHtml(detail.status ?? 'closed')}${by}${when}. Nothing was changed.`,
    ],
    used: ['This link was already used', `This link for incident ${id} was used${by}${when}. Nothing was changed.`],
    expired: [
      'This link has expired',
      `The link for incident ${id} expired${when}. Use kafka-heal incidents ack or resolve, or PagerDuty.`,
    ],
    invalid: [
      'This link is not valid',
      'The link is incomplete or its signature does not match. Use the link from the notification exactly as sent.',
    ],
    'not-found': ['Unknown incident', 'No incident matches this link.'],
    unavailable: [
      'Could not record it',
      'It could not be recorded just now. Try the same button again in a minute, or use kafka-heal incidents ack or resolve.',
    ],
  };
  const [title, message] = text[kind];
  const done = kind === 'acknowledged' || kind === 'resolved';
  return pageDocument(
    title,
    `<h1 data-testid="notice-title">${title}</h1><p class="notice${done ? ' done' : ''}" data-testid="notice" data-kind="${kind}">${message}</p>`,
  );
}
