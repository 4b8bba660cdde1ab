// Samples every stack process once a second for the whole run; each measurement is a phase whose CPU and memory
// are summarised per process.
import { findStackGroups, readGroup, type GroupReading } from './procfs';

export interface Sample {
  at: number;
  readings: GroupReading[];
}

export interface ProcessFootprint {
  name: string;
  /** Average CPU over the phase, 100 = one core busy. */
  cpuPercent: number;
  cpuSeconds: number;
  peakRssBytes: number;
  endRssBytes: number;
  /** Processes in the group at the end (Postgres: postmaster, backends, background workers). */
  processes: number;
}

export interface PhaseFootprint {
  phase: string;
  seconds: number;
  processes: ProcessFootprint[];
}

const INTERVAL_MS = 1_000;

export class ProcessSampler {
  readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly phases: PhaseFootprint[] = [];

  constructor(private readonly rootPid: number) {}

  async sampleNow(): Promise<Sample> {
    const groups = await findStackGroups(this.rootPid);
    const sample = { at: Date.now(), readings: groups.map(readGroup) };
    this.samples.push(sample);
    return sample;
  }

  start(): void {
    this.timer = setInterval(() => void this.sampleNow(), INTERVAL_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Latest RSS of one process, sampled now. */
  async rssOf(name: string): Promise<number | undefined> {
    const sample = await this.sampleNow();
    return sample.readings.find((r) => r.name === name)?.rssBytes;
  }

  /** Marks the start of a phase; the returned function ends it and records its summary. */
  async phase(name: string): Promise<() => Promise<PhaseFootprint>> {
    const first = (await this.sampleNow()).at;
    return async () => {
      const last = (await this.sampleNow()).at;
      const summary = summarise(
        name,
        this.samples.filter((s) => s.at >= first && s.at <= last),
      );
      this.phases.push(summary);
      return summary;
    };
  }

  get recordedPhases(): readonly PhaseFootprint[] {
    return this.phases;
  }
}

function summarise(phase: string, samples: readonly Sample[]): PhaseFootprint {
  const seconds = samples.length > 1 ? (samples[samples.length - 1].at - samples[0].at) / 1000 : 0;
  const names = [...new Set(samples.flatMap((s) => s.readings.map((r) => r.name)))];
  const processes = names.map((name): ProcessFootprint => {
    const readings = samples.map((s) => s.readings.find((r) => r.name === name));
    let cpuSeconds = 0;
    for (let i = 1; i < readings.length; i++) {
      const [before, now] = [readings[i - 1], readings[i]];
      if (!now) continue;
      // A restarted process (a new pid) counts from zero: all of its CPU falls inside the phase.
      const delta = before && before.rootPid === now.rootPid ? now.cpuSeconds - before.cpuSeconds : now.cpuSeconds;
      cpuSeconds += Math.max(delta, 0);
    }
    const present = readings.filter((r): r is GroupReading => r !== undefined);
    const end = present[present.length - 1];
    return {
      name,
      cpuPercent: seconds > 0 ? (cpuSeconds / seconds) * 100 : 0,
      cpuSeconds,
      peakRssBytes: Math.max(0, ...present.map((r) => r.rssBytes)),
      endRssBytes: end?.rssBytes ?? 0,
      processes: end?.processes ?? 0,
    };
  });
  return { phase, seconds, processes };
}
