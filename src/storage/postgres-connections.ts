/**
 * RDS PostgreSQL's default max_connections is LEAST(DBInstanceClassMemory / 9531392, 5000);
 * DBInstanceClassMemory is the class memory less what RDS reserves (about 10% here, to be safe).
 */
const INSTANCE_MEMORY_GIB: Record<string, number> = {
  'micro': 1, 'small': 2, 'medium': 4, 'large': 8, 'xlarge': 16, '2xlarge': 32, '4xlarge': 64, '8xlarge': 128,
};

export function postgresMaxConnections(instanceClass: string): number | undefined {
  const m = /^(?:db\.)?([a-z0-9]+)\.([a-z0-9]+)$/.exec(instanceClass);
  if (!m) return undefined;
  const family = m[1];
  let gib = INSTANCE_MEMORY_GIB[m[2]];
  if (gib === undefined) return undefined;
  // r-families have twice the memory of m-families at the same size; t-families match m
  if (family.startsWith('r') || family.startsWith('x')) gib *= 2;
  if (family.startsWith('m') && m[2] === 'large') gib = 8;
  return Math.min(Math.floor((gib * 1024 ** 3 * 0.9) / 9531392), 5000);
}
