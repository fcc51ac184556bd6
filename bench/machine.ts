/** The machine a benchmark ran on, printed with every figure: a number means little without it. */
import os from 'node:os';

export interface Machine {
  cores: number;
  cpu: string;
  node: string;
}

export function machine(): Machine {
  return { cores: os.cpus().length, cpu: os.cpus()[0]?.model.trim() ?? 'unknown', node: process.version };
}

export function machineLine(): string {
  const m = machine();
  return `machine: ${m.cores} cores, ${m.cpu}, Node ${m.node}`;
}
