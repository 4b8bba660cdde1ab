// Figures per scenario (orders, faults, recovery, losses, duplicates), one line each on the console and in a file.
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findings, type AuditReport } from './audit';

/** Every e2e file appends here, so one run's figures sit together. */
export const FIGURES_FILE = join(tmpdir(), 'order-system-e2e-figures.log');

export interface ScenarioFigures {
  scenario: string;
  orders: number;
  faults: string[];
  /** From the moment the fault was repaired until every order was final. */
  recoveryMs?: number;
  durationMs: number;
  lost: number;
  duplicates: number;
  /** Audit findings beyond losses and duplicates. */
  problems: number;
  extra?: Record<string, string | number>;
}

export function figuresFrom(
  scenario: string,
  report: AuditReport,
  rest: Omit<ScenarioFigures, 'scenario' | 'orders' | 'lost' | 'duplicates' | 'problems'>,
): ScenarioFigures {
  return {
    scenario,
    orders: report.orders,
    lost: report.lost.length,
    duplicates: report.duplicates.length + report.unexpected.length,
    problems: findings(report).length - report.lost.length - report.duplicates.length - report.unexpected.length,
    ...rest,
  };
}

export function summaryLine(f: ScenarioFigures): string {
  const parts = [
    `orders=${f.orders}`,
    `faults=${f.faults.length > 0 ? f.faults.join('+') : 'none'}`,
    f.recoveryMs === undefined ? undefined : `recovery=${(f.recoveryMs / 1000).toFixed(1)}s`,
    `duration=${(f.durationMs / 1000).toFixed(1)}s`,
    `lost=${f.lost}`,
    `duplicates=${f.duplicates}`,
    `problems=${f.problems}`,
    ...Object.entries(f.extra ?? {}).map(([key, value]) => `${key}=${value}`),
  ];
  return `[e2e] ${f.scenario}: ${parts.filter(Boolean).join(' ')}`;
}

/** Collects a file's figures and prints them once, when the file is done (passed or not). */
export class FiguresBook {
  private readonly lines: string[] = [];

  record(figures: ScenarioFigures): void {
    this.lines.push(summaryLine(figures));
  }

  async flush(): Promise<void> {
    if (this.lines.length === 0) return;
    const text = this.lines.join('\n');
    console.log(`${text}\n(figures also in ${FIGURES_FILE})`);
    await appendFile(FIGURES_FILE, `${new Date().toISOString()}\n${text}\n`);
  }
}
