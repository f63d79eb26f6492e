/**
 * Housekeeping and operator access: the scheduled `airflow db clean`, ECS Exec, and a ready
 * command line for one-off Airflow CLI commands.
 */
import { spawnSync } from 'child_process';
import { App, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { AirflowOnEcs } from '../../src';
import { oneStack, synthError, taskDefinitions } from '../util';

describe('the scheduled db clean', () => {
  const { template } = oneStack();
  const schedule = Object.values<any>(template.findResources('AWS::Scheduler::Schedule'))[0].Properties;
  const tds = taskDefinitions(template);
  const clean = Object.values(tds).find(td => td.containers.some(c => c.Name === 'db-clean'))!;
  const container = clean.containers.find(c => c.Name === 'db-clean')! as any;

  test('daily at 03:00 UTC, an ECS task on Fargate in the private subnets', () => {
    expect(schedule.ScheduleExpression).toBe('cron(0 3 * * ? *)');
    expect(schedule.State).toBe('ENABLED');
    expect(schedule.Target.EcsParameters).toEqual(expect.objectContaining({
      TaskDefinitionArn: { Ref: clean.logicalId },
      LaunchType: 'FARGATE',
      NetworkConfiguration: { AwsvpcConfiguration: expect.objectContaining({ AssignPublicIp: 'DISABLED' }) },
    }));
    expect(schedule.Target.RetryPolicy.MaximumRetryAttempts).toBe(2);
  });

  test('deletes records older than 90 days, in batches, without archive tables', () => {
    const env = Object.fromEntries(container.Environment.map((e: any) => [e.Name, e.Value]));
    expect(env.CDK_AIRFLOW_CLEAN_RETENTION_DAYS).toBe('90');
    expect(container.Command[0]).toBe('bash');
    expect(container.Command[2]).toContain('airflow db clean --clean-before-timestamp "$before" --skip-archive --yes --batch-size 10000');
    // the same database settings and secrets as the components
    expect(env.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD).toBeDefined();
    expect(container.Secrets.map((s: any) => s.Name)).toEqual(expect.arrayContaining(['CDK_AIRFLOW_DB_PASSWORD', 'CDK_AIRFLOW_FERNET_KEY']));
  });

  test('the cut-off is computed when the task runs: 90 days before now, as Airflow parses it', () => {
    const script = container.Command[2].replace(/\nexec airflow.*$/, '\necho "$before"');
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', CDK_AIRFLOW_CLEAN_RETENTION_DAYS: '90' } });
    expect(r.status).toBe(0);
    const printed = r.stdout.trim().split('\n').pop()!;
    expect(printed).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00$/);
    const days = (Date.now() - Date.parse(printed.replace(' ', 'T'))) / 86_400_000;
    expect(days).toBeGreaterThan(89.99);
    expect(days).toBeLessThan(90.01);
  });

  test('the task reaches the database', () => {
    const sg = Object.entries<any>(template.findResources('AWS::EC2::SecurityGroup'))
      .find(([, r]) => r.Properties.GroupDescription === 'Airflow database clean-up task')![0];
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 5432, SourceSecurityGroupId: { 'Fn::GetAtt': [sg, 'GroupId'] } });
  });

  test('retention and schedule are options; a disabled clean-up keeps its schedule off', () => {
    const { template: t } = oneStack({
      databaseCleanup: { retention: Duration.days(30), schedule: scheduler.ScheduleExpression.rate(Duration.hours(12)), enabled: false },
    });
    const s = Object.values<any>(t.findResources('AWS::Scheduler::Schedule'))[0].Properties;
    expect(s.ScheduleExpression).toBe('rate(12 hours)');
    expect(s.State).toBe('DISABLED');
    const td = Object.values(taskDefinitions(t)).find(d => d.containers.some(c => c.Name === 'db-clean'))!;
    expect(td.containers[0].Environment!.find((e: any) => e.Name === 'CDK_AIRFLOW_CLEAN_RETENTION_DAYS')!.Value).toBe('30');
  });

  test('a retention under a day, or not whole days, fails at synth', () => {
    expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', { databaseCleanup: { retention: Duration.hours(12) } })))
      .toContain('databaseCleanup.retention (0.5 days) must be whole days, at least 1');
  });
});

describe('ECS Exec', () => {
  test('off by default', () => {
    const { template } = oneStack();
    for (const s of Object.values<any>(template.findResources('AWS::ECS::Service'))) expect(s.Properties.EnableExecuteCommand).toBeUndefined();
    expect(JSON.stringify(template.toJSON())).not.toContain('ssmmessages');
  });

  test('on: every component service, its task role opens the session channels and logs to its own log group', () => {
    const { template } = oneStack({ enableExecuteCommand: true, workerPools: { heavy: { queues: ['heavy'] } } });
    const services = Object.entries<any>(template.findResources('AWS::ECS::Service'));
    expect(services).toHaveLength(6);
    for (const [, s] of services) expect(s.Properties.EnableExecuteCommand).toBe(true);
    const policies = Object.entries<any>(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.includes('ExecuteCommandPolicy'));
    expect(policies).toHaveLength(6);
    for (const [, p] of policies) {
      const [channels, logs] = p.Properties.PolicyDocument.Statement;
      expect(channels.Action).toEqual(expect.arrayContaining(['ssmmessages:CreateControlChannel', 'ssmmessages:OpenDataChannel']));
      expect(logs.Action).toEqual(['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents']);
      expect(JSON.stringify(logs.Resource)).toMatch(/Logs[A-F0-9]{8}/);
    }
    // the service starts once its role may open sessions
    for (const [, s] of services) expect(s.DependsOn.some((d: string) => d.includes('ExecuteCommandPolicy'))).toBe(true);
    // cdk-nag over it: test/security/nag.test.ts (the maximal configuration and the user-wildcard case)
  });
});

describe('cliCommand', () => {
  test('an aws ecs run-task line on the migration task definition, with the command as an override', () => {
    const app = new App();
    const stack = new Stack(app, 'Airflow');
    const airflow = new AirflowOnEcs(stack, 'Airflow');
    new CfnOutput(stack, 'ListDags', { value: airflow.cliCommand(['dags', 'list', '--output', 'json']) });
    new CfnOutput(stack, 'Quote', { value: airflow.cliCommand(['variables', 'set', 'greeting', "it's"]) });
    const template = Template.fromStack(stack);
    const outputs = template.toJSON().Outputs;
    const text = (o: any) => JSON.stringify(o.Value);
    const migrationTd = Object.values(taskDefinitions(template)).find(td => td.containers.some(c => c.Name === 'migrate'))!;
    expect(text(outputs.ListDags)).toContain('aws ecs run-task --cluster ');
    expect(text(outputs.ListDags)).toContain(`{"Ref":"${migrationTd.logicalId}"}`);
    expect(text(outputs.ListDags)).toContain('--launch-type FARGATE');
    expect(text(outputs.ListDags)).toContain('assignPublicIp=DISABLED');
    const joined = outputs.ListDags.Value['Fn::Join'][1].filter((p: any) => typeof p === 'string').join('');
    const overrides = /--overrides '(.*)'$/.exec(joined)![1];
    expect(JSON.parse(overrides)).toEqual({ containerOverrides: [{ name: 'migrate', command: ['airflow', 'dags', 'list', '--output', 'json'] }] });
    // a single quote survives the shell
    const quoted = outputs.Quote.Value['Fn::Join'][1].filter((p: any) => typeof p === 'string').join('');
    const word = /--overrides ('.*')$/.exec(quoted)![1];
    const r = spawnSync('bash', ['-c', `printf %s ${word}`], { encoding: 'utf8' });
    expect(JSON.parse(r.stdout).containerOverrides[0].command).toEqual(['airflow', 'variables', 'set', 'greeting', "it's"]);
  });
});

test('none of this adds a synth warning', () => {
  const { stack } = oneStack({ enableExecuteCommand: true });
  Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
});
