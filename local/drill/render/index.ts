// The drill's report files, all rendered from one DrillReport: report.json (stable keys),
// report.md, postmortem.md (seed template) and report.html (self-contained, SVG timeline).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DrillReport } from '../report-types.js';
import { renderHtml } from './html.js';
import { renderJson } from './json.js';
import { renderMarkdown } from './markdown.js';
import { renderDrillPostmortem } from './postmortem.js';

export { renderHtml } from './html.js';
export { renderJson, toStableJson } from './json.js';
export { renderMarkdown } from './markdown.js';
export { drillPostmortemDraft, renderDrillPostmortem } from './postmortem.js';
export { renderTimelineSvg } from './svg.js';

export interface ReportPaths {
  json: string;
  markdown: string;
  postmortem: string;
  html: string;
}

export const REPORT_FILES = {
  json: 'report.json',
  markdown: 'report.md',
  postmortem: 'postmortem.md',
  html: 'report.html',
} as const;

/** Renders every report file into `dir` (created if missing) and returns their paths. */
export async function writeReports(report: DrillReport, dir: string): Promise<ReportPaths> {
  await mkdir(dir, { recursive: true });
  const paths: ReportPaths = {
    json: join(dir, REPORT_FILES.json),
    markdown: join(dir, REPORT_FILES.markdown),
    postmortem: join(dir, REPORT_FILES.postmortem),
    html: join(dir, REPORT_FILES.html),
  };
  // Render everything before writing anything, so a renderer error leaves no half set of files.
  const contents: Record<keyof ReportPaths, string> = {
    json: renderJson(report),
    markdown: renderMarkdown(report),
    postmortem: renderDrillPostmortem(report),
    html: renderHtml(report),
  };
  await Promise.all((Object.keys(paths) as (keyof ReportPaths)[]).map((k) => writeFile(paths[k], contents[k], 'utf8')));
  return paths;
}
