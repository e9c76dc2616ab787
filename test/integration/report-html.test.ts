// The drill's HTML report in a real browser: Debian's headless Chromium (through playwright-core)
// opens report.html from disk, and the test checks what an on-call engineer would see: the page
// loads nothing from outside and logs no errors, the SVG timeline has one mark per event at a
// visible size, the verdict reads with enough contrast, and the screenshot is a real picture
// (size, colours where the verdict and the fault mark are). Hostile text stays text.
// Screenshots go to reports/report-html/ (ignored by git) for a person to look at.
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReports } from '#local/drill/render/index.js';
import type { DrillReport } from '#local/drill/report-types.js';
import { launchChromium } from '../support/chromium.js';
import { decodePng } from '../support/png.js';
import { brokerCrashReport, HOSTILE, hostileReport } from '../unit/render/fixture.js';

/**
 * The browser globals the page functions use. The project compiles without the DOM library, so
 * those functions (serialized and run in Chromium) reach them through `globalThis` with this type.
 */
interface PageGlobals {
  document: {
    documentElement: { scrollHeight: number };
    body: object;
    querySelectorAll(selector: string): { length: number };
  };
  getComputedStyle(el: unknown): { color: string; backgroundColor: string; fill: string };
}
interface PageElement {
  parentElement: unknown;
  getBoundingClientRect(): { left: number; right: number; width: number; height: number };
}

const OUT = fileURLToPath(new URL('../../reports/report-html/', import.meta.url));
const VIEWPORT = { width: 1280, height: 900 };

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

interface Opened {
  page: Page;
  problems: string[];
  requests: string[];
  dialogs: string[];
}

/** Writes the report files and opens report.html, recording console problems, requests and dialogs. */
async function open(report: DrillReport, name: string, colorScheme: 'light' | 'dark' = 'light'): Promise<Opened> {
  const paths = await writeReports(report, `${OUT}${name}`);
  const page = await browser.newPage({ viewport: VIEWPORT, deviceScaleFactor: 1, colorScheme });
  const problems: string[] = [];
  const requests: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const url = pathToFileURL(paths.html).href;
  const response = await page.goto(url, { waitUntil: 'load' });
  expect(response?.ok() ?? true).toBe(true);
  expect(requests).toEqual([url]);
  requests.length = 0;
  return { page, problems, requests, dialogs };
}

/** WCAG contrast ratio of two CSS `rgb(...)` colours. */
function contrast(a: string, b: string): number {
  const lum = (css: string) => {
    const [r, g, bl] = (css.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

describe('report.html in headless Chromium', () => {
  it('renders the broker-crash report: timeline marks, visible text, no errors, a real screenshot', async () => {
    const report = brokerCrashReport();
    const marks = report.timeline.length + report.actions.length;
    const { page, problems, requests, dialogs } = await open(report, 'broker-crash');

    // The SVG timeline: one mark per timeline entry and action, each drawn at a visible size inside it.
    await expect(page.locator('svg.tl').count()).resolves.toBe(1);
    const svgBox = await page.locator('svg.tl').boundingBox();
    expect(svgBox?.width).toBeGreaterThan(1000);
    expect(svgBox?.height).toBeGreaterThan(300);
    const boxes = await page.locator('svg.tl g.mark').evaluateAll((els) =>
      els.map((el) => {
        const r = (el as unknown as PageElement).getBoundingClientRect();
        return { left: r.left, right: r.right, width: r.width, height: r.height };
      }),
    );
    expect(boxes).toHaveLength(marks);
    for (const b of boxes) {
      expect(b.width).toBeGreaterThanOrEqual(2.5);
      expect(b.height).toBeGreaterThanOrEqual(10);
      expect(b.left).toBeGreaterThanOrEqual(svgBox!.x);
      expect(b.right).toBeLessThanOrEqual(svgBox!.x + svgBox!.width);
    }
    const lanes = await page.locator('svg.tl g.lane text.lane-label').allTextContents();
    expect(lanes).toEqual(['Faults', 'Alarms', 'Classifier', 'Workflow', 'States', 'Actions', 'Oracle']);

    // Text a person needs is visible, and readable (WCAG AA contrast at least).
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('PASSED: drill broker-crash');
    for (const text of [
      '12.4 s',
      '41.8 s',
      '31.2 s',
      '1.34x',
      'Verify Broker Rejoined',
      'fault:crash',
      'host-diagnosed',
      'incident-opened broker 2',
      'broker-restarted',
    ]) {
      await expect(page.getByText(text, { exact: true }).first().isVisible(), text).resolves.toBe(true);
    }
    const colours = await page.locator('#verdict h1').evaluate((h1) => {
      const g = globalThis as unknown as PageGlobals;
      return {
        fg: g.getComputedStyle(h1).color,
        bg: g.getComputedStyle((h1 as unknown as PageElement).parentElement).backgroundColor,
      };
    });
    expect(contrast(colours.fg, colours.bg)).toBeGreaterThanOrEqual(4.5);
    const labelFill = await page
      .locator('svg.tl text.label')
      .first()
      .evaluate((t) => (globalThis as unknown as PageGlobals).getComputedStyle(t).fill);
    expect(contrast(labelFill, 'rgb(255, 255, 255)')).toBeGreaterThanOrEqual(7);

    // The screenshot: a PNG of the full page at the viewport's width, not blank, with the verdict
    // banner green and the fault mark red where the layout put them.
    const shot = await page.screenshot({ path: `${OUT}broker-crash.png`, fullPage: true });
    const png = decodePng(shot);
    const pageHeight = await page.evaluate(
      () => (globalThis as unknown as PageGlobals).document.documentElement.scrollHeight,
    );
    expect(png.width).toBe(VIEWPORT.width);
    expect(png.height).toBe(pageHeight);
    expect(png.height).toBeGreaterThan(VIEWPORT.height);
    const colourSet = new Set<number>();
    let nonWhite = 0;
    for (let i = 0; i < png.rgba.length; i += 4) {
      const [r, g, b] = [png.rgba[i] as number, png.rgba[i + 1] as number, png.rgba[i + 2] as number];
      colourSet.add((r << 16) | (g << 8) | b);
      if (r < 245 || g < 245 || b < 245) nonWhite++;
    }
    expect(colourSet.size).toBeGreaterThan(50);
    expect(nonWhite / (png.width * png.height)).toBeGreaterThan(0.05);
    const verdict = (await page.locator('#verdict').boundingBox())!;
    const [vr, vg, vb] = png.pixel(verdict.x + 6, verdict.y + verdict.height - 4);
    expect(vg).toBeGreaterThan(vr + 50);
    expect(vg).toBeGreaterThan(vb + 50);
    const fault = (await page.locator('svg.tl g.mark.k-fault').boundingBox())!;
    const [fr, fg, fb] = png.pixel(fault.x + fault.width / 2, fault.y + fault.height / 2);
    expect(fr).toBeGreaterThan(150);
    expect(fg).toBeLessThan(80);
    expect(fb).toBeLessThan(80);
    expect((await readFile(`${OUT}broker-crash.png`)).equals(shot)).toBe(true);

    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    expect(dialogs).toEqual([]);
    await page.close();
  });

  it('keeps hostile strings as text: no script runs, no element is injected, the SVG stays whole', async () => {
    const report = hostileReport();
    const { page, problems, requests, dialogs } = await open(report, 'hostile');
    const injected = await page.evaluate(
      () => (globalThis as unknown as PageGlobals).document.querySelectorAll('script, img, iframe, main b').length,
    );
    expect(injected).toBe(0);
    await expect(page.locator('svg').count()).resolves.toBe(1);
    await expect(page.locator('svg.tl g.mark').count()).resolves.toBe(report.timeline.length + report.actions.length);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      `FAILED: drill crash ${HOSTILE.script}`,
    );
    await expect(page.title()).resolves.toBe(`Drill crash ${HOSTILE.script}: FAILED`);
    const cells = await page.locator('table').first().locator('td').allTextContents();
    expect(cells).toContain(HOSTILE.pipes);
    await page.screenshot({ path: `${OUT}hostile.png`, fullPage: true });
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    expect(dialogs).toEqual([]);
    await page.close();
  });

  it('stays readable in a dark colour scheme', async () => {
    const { page, problems } = await open(brokerCrashReport(), 'broker-crash-dark', 'dark');
    const { fg, bg } = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      const body = g.getComputedStyle(g.document.body);
      return { fg: body.color, bg: body.backgroundColor };
    });
    expect(contrast(fg, bg)).toBeGreaterThanOrEqual(12);
    const png = decodePng(await page.screenshot({ path: `${OUT}broker-crash-dark.png` }));
    const [r, g, b] = png.pixel(5, png.height - 5);
    expect(r + g + b).toBeLessThan(120);
    const labelFill = await page
      .locator('svg.tl text.label')
      .first()
      .evaluate((t) => (globalThis as unknown as PageGlobals).getComputedStyle(t).fill);
    expect(contrast(labelFill, bg)).toBeGreaterThanOrEqual(7);
    expect(problems).toEqual([]);
    await page.close();
  });
});
