/**
 * The wait-for-migrations init container's script, taken from the synthesized task definition and
 * run by a real bash with a stand-in `airflow` (and an instant `sleep`): it waits while the
 * database does not answer, then hands over to `airflow db check-migrations`, and gives up with
 * a clear message when the database never answers. On Airflow 3.3 the image's entrypoint no
 * longer waits for the database before this command; the local ECS runtime's database-restart
 * scenario showed `db check-migrations` alone failing at once.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AirflowOnEcs } from '../../src';
import { taskDefinitions } from '../util';

const stack = new Stack(new App(), 'S');
new AirflowOnEcs(stack, 'Airflow');
const wait = taskDefinitions(Template.fromStack(stack)).scheduler.containers.find(c => c.Name === 'wait-for-migrations')!;

function run(failingChecks: number): { status: number | null; calls: string[]; stdout: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-airflow-ecs-wait-'));
  const calls = path.join(dir, 'calls');
  const counter = path.join(dir, 'failed');
  fs.writeFileSync(path.join(dir, 'airflow'), `#!/bin/bash
echo "$*" >> ${calls}
if [ "$1 $2" = "db check" ]; then
  n=$(cat ${counter} 2>/dev/null || echo 0)
  if [ "$n" -lt "$FAILING_CHECKS" ]; then echo $((n + 1)) > ${counter}; echo "connection refused" >&2; exit 1; fi
  exit 0
fi
[ "$1 $2" = "db check-migrations" ] && exit 0
exit 99
`, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'sleep'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const [shell, flag, script] = wait.Command!;
  const r = spawnSync(shell, [flag, script], { encoding: 'utf8', env: { PATH: `${dir}:/usr/bin:/bin`, FAILING_CHECKS: `${failingChecks}` } });
  const out = { status: r.status, calls: fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : [], stdout: r.stdout, stderr: r.stderr };
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}

describe('wait-for-migrations', () => {
  test('checks the migrations at once when the database answers', () => {
    const r = run(0);
    expect(r.status).toBe(0);
    expect(r.calls).toEqual(['db check', 'db check-migrations --migration-wait-timeout 600']);
  });

  // pitfall #36: Health check failed while the database was not ready
  test('waits while the database restarts, then checks the migrations', () => {
    const r = run(5);
    expect(r.status).toBe(0);
    expect(r.calls.filter(c => c === 'db check')).toHaveLength(6);
    expect(r.calls[r.calls.length - 1]).toBe('db check-migrations --migration-wait-timeout 600');
    expect(r.stdout).toContain('waiting for the metadata database (attempt 5)');
  });

  test('fails, saying so, when the database never answers', () => {
    const r = run(1000);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the metadata database did not answer in 120 s');
    expect(r.calls).not.toContain('db check-migrations --migration-wait-timeout 600');
  });
});
