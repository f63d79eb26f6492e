import { isConcrete, Problems } from '../private/validation';

/**
 * Fargate's valid task CPU/memory pairs (AWS "Task size" table). aws-cdk-lib only warns about an
 * invalid pair and the deployment then fails; we refuse it at synth.
 */
const FARGATE_SIZES: { cpu: number; minMiB: number; maxMiB: number; stepMiB: number; explicit?: number[] }[] = [
  { cpu: 256, minMiB: 512, maxMiB: 2048, stepMiB: 1024, explicit: [512, 1024, 2048] },
  { cpu: 512, minMiB: 1024, maxMiB: 4096, stepMiB: 1024 },
  { cpu: 1024, minMiB: 2048, maxMiB: 8192, stepMiB: 1024 },
  { cpu: 2048, minMiB: 4096, maxMiB: 16384, stepMiB: 1024 },
  { cpu: 4096, minMiB: 8192, maxMiB: 30720, stepMiB: 1024 },
  { cpu: 8192, minMiB: 16384, maxMiB: 61440, stepMiB: 4096 },
  { cpu: 16384, minMiB: 32768, maxMiB: 122880, stepMiB: 8192 },
];

function memoriesFor(cpu: number): number[] {
  const row = FARGATE_SIZES.find(r => r.cpu === cpu)!;
  if (row.explicit) return row.explicit;
  const out: number[] = [];
  for (let m = row.minMiB; m <= row.maxMiB; m += row.stepMiB) out.push(m);
  return out;
}

/** Checks one Fargate task size; adds a problem naming `prop` when the pair is invalid. */
export function checkFargateSize(problems: Problems, prop: string, cpu: number, memoryLimitMiB: number): void {
  if (!isConcrete(cpu) || !isConcrete(memoryLimitMiB)) return;
  const row = FARGATE_SIZES.find(r => r.cpu === cpu);
  if (!row) {
    problems.add(`${prop}.cpu (${cpu}) is not a Fargate CPU size; use one of ${FARGATE_SIZES.map(r => r.cpu).join(', ')} (1024 = 1 vCPU)`);
    return;
  }
  const valid = memoriesFor(cpu);
  if (!valid.includes(memoryLimitMiB)) {
    const range = row.explicit
      ? valid.join(', ')
      : `${row.minMiB}–${row.maxMiB} in steps of ${row.stepMiB}`;
    const fitting = FARGATE_SIZES.filter(r => memoriesFor(r.cpu).includes(memoryLimitMiB)).map(r => r.cpu);
    const hint = fitting.length > 0 ? `, or set ${prop}.cpu to ${orList(fitting)} for ${memoryLimitMiB} MiB` : '';
    problems.add(`${prop}.memoryLimitMiB (${memoryLimitMiB}) does not fit ${prop}.cpu (${cpu}) on Fargate; with cpu ${cpu} use ${range} MiB${hint}`);
  }
}

function orList(items: number[]): string {
  return items.length === 1 ? `${items[0]}` : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}
