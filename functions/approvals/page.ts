// The approval page as HTML: what someone woken at night needs to decide (incident type,
// severity, cluster, evidence, the exact actions that will run), the one button the opened link
// grants (Approve or Reject) and an optional reason; and the pages that say a link is used,
// expired, wrong or answered. Pure rendering: every value is escaped, nothing is fetched by the
// page (no scripts, no remote CSS), and the form posts back to the link's own URL.
import type { LinkDecision } from './links.js';
import type { ApprovalRecord } from './store.js';

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

const STYLE = `
body{font:16px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
main{max-width:46rem;margin:2rem auto;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1.5rem 2rem}
h1{font-size:1.35rem;margin:0 0 1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0 0 1rem}
dt{font-weight:600;color:#57606a}dd{margin:0}
.sev{font-weight:700}.sev-SEV-1,.sev-SEV-2{color:#b42318}
ol.actions li{margin:.2rem 0;font-family:ui-monospace,monospace}
textarea,input[type=text]{width:100%;box-sizing:border-box;font:inherit;padding:.4rem}
.buttons{display:flex;gap:1rem;margin-top:1rem}
button{font:inherit;font-weight:600;padding:.6rem 1.6rem;border-radius:6px;border:1px solid transparent;cursor:pointer}
button.approve{background:#1a7f37;color:#fff}button.reject{background:#fff;color:#b42318;border-color:#b42318}
.notice{padding:.8rem 1rem;border-radius:6px;background:#fff8c5;border:1px solid #d4a72c}
.done{background:#dafbe1;border-color:#1a7f37}
small{color:#57606a}`;

/** A whole page in the house style: no scripts, no remote resources, the body escaped by the caller. */
export function pageDocument(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

function facts(r: ApprovalRecord): string {
  const rows: [string, string, string][] = [
    ['Incident', r.incidentId, 'incident'],
    ['Type', r.incidentType ?? 'unknown', 'type'],
    ['Severity', r.severity ?? 'unknown', 'severity'],
    ['Cluster', r.cluster ?? 'unknown', 'cluster'],
    ['Workflow', r.workflow, 'workflow'],
    ['Requested', r.requestedAt, 'requested'],
    ['Link expires', new Date(r.linkExpires * 1000).toISOString(), 'expires'],
  ];
  return `<dl>${rows
    .map(
      ([k, v, id]) =>
        `<dt>${k}</dt><dd data-testid="${id}"${id === 'severity' ? ` class="sev sev-${escapeHtml(v)}"` : ''}>${escapeHtml(v)}</dd>`,
    )
    .join('')}</dl>`;
}

/**
 * The one decision the page can post: the opened link's own claims and signature, carried back
 * unchanged. The page never signs anything, so a reject link's page cannot approve.
 */
export interface PageLink {
  decision: LinkDecision;
  expires: number;
  sig: string;
}

const OTHER: Record<LinkDecision, string> = {
  approve:
    'To reject instead, use the reject link from the same notification, or run <code>kafka-heal reject</code> with the approval id.',
  reject:
    'To approve instead, use the approve link from the same notification, or run <code>kafka-heal approve</code> with the approval id.',
};

export function approvalPage(r: ApprovalRecord, link: PageLink): string {
  const evidence =
    r.evidence && r.evidence.length > 0
      ? `<ul data-testid="evidence">${r.evidence.map((e) => `<li>${escapeHtml(e)}</li>`).join('')}</ul>`
      : '<p data-testid="evidence"><small>No evidence was attached.</small></p>';
  const body = `<h1 data-testid="summary">Approval needed: ${escapeHtml(r.summary)}</h1>
${facts(r)}
<h2>Evidence</h2>
${evidence}
<h2>If you approve, exactly these actions run, in this order</h2>
<ol class="actions" data-testid="actions">${r.actions.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ol>
<p><small>If you reject, nothing runs: the workflow records the rejection and escalates to the on-call engineer.</small></p>
<p data-testid="one-decision"><small>This link can only ${link.decision}. ${OTHER[link.decision]}</small></p>
<form method="post">
<input type="hidden" name="decision" value="${link.decision}">
<input type="hidden" name="expires" value="${link.expires}">
<input type="hidden" name="sig" value="${escapeHtml(link.sig)}">
<label for="by">Your name</label><input type="text" id="by" name="by" maxlength="100" autocomplete="name">
<label for="reason">Reason (optional)</label><textarea id="reason" name="reason" rows="3" maxlength="500"></textarea>
<div class="buttons">${link.decision === 'approve' ? '<button class="approve" type="submit">Approve</button>' : '<button class="reject" type="submit">Reject</button>'}</div>
</form>`;
  return pageDocument(`Approve ${r.workflow} for ${r.incidentId}?`, body);
}

export type NoticeKind = 'recorded' | 'used' | 'expired' | 'task-closed' | 'invalid' | 'not-found' | 'unavailable';

export function noticePage(kind: NoticeKind, r?: ApprovalRecord): string {
  const who = r?.decidedBy === undefined ? '' : ` by ${escapeHtml(r.decidedBy)}`;
  const when = r?.decidedAt === undefined ? '' : ` at ${escapeHtml(r.decidedAt)}`;
  const what = r === undefined ? '' : `${escapeHtml(r.workflow)} for incident ${escapeHtml(r.incidentId)}`;
  const text: Record<NoticeKind, [string, string]> = {
    recorded: [
      r?.status === 'approved' ? 'Approved' : 'Rejected',
      r?.status === 'approved'
        ? `Your approval of ${what} was recorded; the workflow continues.`
        : `Your rejection of ${what} was recorded; the workflow escalates instead.`,
    ],
    used: [
      'This approval link was already used',
      `${what} was already ${escapeHtml(r?.status ?? 'decided')}${who}${when}. Nothing was changed.`,
    ],
    expired: [
      'This approval link has expired',
      `The approval window${r === undefined ? '' : ` for ${what}`} closed${r === undefined ? '' : ` at ${new Date(r.linkExpires * 1000).toISOString()}`}. The workflow has escalated; check the incident.`,
    ],
    'task-closed': [
      'The workflow stopped waiting',
      `Your decision was recorded, but ${what} no longer waits for it (it timed out and escalated). Check the incident.`,
    ],
    invalid: [
      'This approval link is not valid',
      'The link is incomplete or its signature does not match. Use the link from the notification exactly as sent.',
    ],
    'not-found': ['Unknown approval', 'No approval matches this link.'],
    unavailable: [
      'Could not record the decision',
      'The decision could not be handed to the workflow just now. Try the same button again in a minute, or use kafka-heal approve|reject.',
    ],
  };
  const [title, message] = text[kind];
  return pageDocument(
    title,
    `<h1 data-testid="notice-title">${title}</h1><p class="notice${kind === 'recorded' ? ' done' : ''}" data-testid="notice" data-kind="${kind}">${message}</p>`,
  );
}
