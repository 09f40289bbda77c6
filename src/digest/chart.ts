import { Resvg } from '@resvg/resvg-js';
import { formatCredits, type Millicredits } from '../money/credits';
import { dayLabel } from './content';
import type { TrendPoint } from '../budget/reports';

const CHART_WIDTH = 800;
const CHART_HEIGHT = 400;

const MARGIN = { top: 60, right: 30, bottom: 50, left: 30 };

/** Text content of an SVG element (only in text nodes, never attributes). */
function xmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The 7-day trend as an SVG: one bar per day (spent), the refunded credits stacked lighter on top, and the
 * daily limit as a dashed line when the workspace has one. Text is set in DejaVu Sans, which resvg finds among
 * the system fonts (without it the bars and lines still render).
 */
function trendSvg(points: TrendPoint[], dailyLimitMc?: Millicredits): string {
  const plotW = CHART_WIDTH - MARGIN.left - MARGIN.right;
  const plotH = CHART_HEIGHT - MARGIN.top - MARGIN.bottom;
  const top = Math.max(1, dailyLimitMc ?? 0, ...points.map((p) => p.committedMc + p.refundedMc)) * 1.1;
  const y = (mc: number) => MARGIN.top + plotH - (mc / top) * plotH;
  const slot = plotW / points.length;
  const barW = slot * 0.6;
  const parts: string[] = [
    `<rect width="${CHART_WIDTH}" height="${CHART_HEIGHT}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="32" font-size="20" font-weight="bold" fill="#1d1c1d">Credits spent per day, last 7 days</text>`,
    `<line x1="${MARGIN.left}" x2="${CHART_WIDTH - MARGIN.right}" y1="${y(0)}" y2="${y(0)}" stroke="#9a9a9a"/>`,
  ];
  points.forEach((p, i) => {
    const x = MARGIN.left + i * slot + (slot - barW) / 2;
    const cx = x + barW / 2;
    parts.push(
      `<rect x="${x}" y="${y(p.committedMc)}" width="${barW}" height="${y(0) - y(p.committedMc)}" fill="#4a154b"/>`,
    );
    if (p.refundedMc > 0) {
      parts.push(
        `<rect x="${x}" y="${y(p.committedMc + p.refundedMc)}" width="${barW}" height="${y(p.committedMc) - y(p.committedMc + p.refundedMc)}" fill="#c9a5ca"/>`,
      );
    }
    parts.push(
      `<text x="${cx}" y="${y(p.committedMc + p.refundedMc) - 8}" font-size="15" text-anchor="middle" fill="#1d1c1d">${xmlText(formatCredits(p.committedMc))}</text>`,
    );
    parts.push(
      `<text x="${cx}" y="${CHART_HEIGHT - MARGIN.bottom + 24}" font-size="15" text-anchor="middle" fill="#616061">${xmlText(dayLabel(p.date, 'short'))}</text>`,
    );
  });
  if (dailyLimitMc) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${CHART_WIDTH - MARGIN.right}" y1="${y(dailyLimitMc)}" y2="${y(dailyLimitMc)}" stroke="#e01e5a" stroke-width="2" stroke-dasharray="8 6"/>`,
    );
  }
  const limit = dailyLimitMc
    ? `  <tspan fill="#e01e5a">- - daily limit ${xmlText(formatCredits(dailyLimitMc))}</tspan>`
    : '';
  parts.push(
    `<text x="${CHART_WIDTH - MARGIN.right}" y="32" font-size="13" text-anchor="end" fill="#616061"><tspan fill="#4a154b">■</tspan> spent  <tspan fill="#c9a5ca">■</tspan> refunded${limit}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="${CHART_HEIGHT}" font-family="DejaVu Sans, sans-serif">${parts.join('')}</svg>`;
}

export function renderTrendChart(points: TrendPoint[], dailyLimitMc?: Millicredits): Buffer {
  const resvg = new Resvg(trendSvg(points, dailyLimitMc), {
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
