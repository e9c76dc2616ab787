// PagerDuty Webhooks v3 events as PagerDuty sends them (the documented `event` envelope with an
// incident in `data`), for the local receiver's on-call responder and the webhook tests: one
// builder, so both post the shape functions/lifecycle/pagerduty-webhook.ts reads in AWS.
import { randomUUID } from 'node:crypto';
import { signPagerDuty } from '../functions/lifecycle/pagerduty-webhook.js';

export interface V3IncidentEventOptions {
  /** PagerDuty's own incident id (P...). */
  pdIncidentId: string;
  /** Our incident id: the dedup key the Events v2 trigger carried, which PagerDuty calls incident_key. */
  incidentKey?: string | undefined;
  occurredAt: string;
  createdAt?: string;
  status?: string;
  eventId?: string;
  /** Who acted (a user reference's summary). */
  agent?: { id: string; summary: string };
  assignees?: unknown[];
  title?: string;
}

const userRef = (id: string, summary: string) => ({
  html_url: `https://acme.pagerduty.com/users/${id}`,
  id,
  self: `https://api.pagerduty.com/users/${id}`,
  summary,
  type: 'user_reference',
});

/** A v3 incident event (`incident.acknowledged`, `incident.resolved`, ...). */
export function v3IncidentEvent(type: string, o: V3IncidentEventOptions): { event: Record<string, unknown> } {
  const agent = o.agent ?? { id: 'PTUXL6G', summary: 'Grace Hopper' };
  return {
    event: {
      id: o.eventId ?? randomUUID(),
      event_type: type,
      resource_type: 'incident',
      occurred_at: o.occurredAt,
      agent: userRef(agent.id, agent.summary),
      client: { name: 'PagerDuty' },
      data: {
        id: o.pdIncidentId,
        type: 'incident',
        self: `https://api.pagerduty.com/incidents/${o.pdIncidentId}`,
        html_url: `https://acme.pagerduty.com/incidents/${o.pdIncidentId}`,
        number: 2,
        status: o.status ?? 'triggered',
        incident_key: o.incidentKey,
        created_at: o.createdAt ?? o.occurredAt,
        title: o.title ?? 'SEV-2 broker-failure on orders',
        service: {
          html_url: 'https://acme.pagerduty.com/services/PF9KMXH',
          id: 'PF9KMXH',
          self: 'https://api.pagerduty.com/services/PF9KMXH',
          summary: 'kafka-heal',
          type: 'service_reference',
        },
        assignees: o.assignees ?? [userRef(agent.id, agent.summary)],
        escalation_policy: {
          html_url: 'https://acme.pagerduty.com/escalation_policies/PUS0KTE',
          id: 'PUS0KTE',
          self: 'https://api.pagerduty.com/escalation_policies/PUS0KTE',
          summary: 'Default',
          type: 'escalation_policy_reference',
        },
        teams: [],
        priority: null,
        urgency: 'high',
        conference_bridge: null,
        resolve_reason: null,
      },
    },
  };
}

/** Posts a v3 event signed as PagerDuty signs it (X-PagerDuty-Signature: v1=HMAC-SHA256 of the body). */
export async function postV3Event(
  url: string,
  secret: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const text = JSON.stringify(body);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-pagerduty-signature': signPagerDuty(secret, text) },
    body: text,
    signal: AbortSignal.timeout(10_000),
  });
  const answer = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(answer) as Record<string, unknown>;
  } catch {
    json = { text: answer };
  }
  return { status: res.status, json };
}
