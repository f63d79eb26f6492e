/**
 * The custom resource handlers that run the migration task, with an ECS client that records
 * requests and answers like ECS.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { makeHandlers } = require('../../assets/migration-runner/handlers');

class RunTaskCommand { constructor(public readonly input: any) {} }
class DescribeTasksCommand { constructor(public readonly input: any) {} }
class DescribeStacksCommand { constructor(public readonly input: any) {} }
const commands = { RunTaskCommand, DescribeTasksCommand, DescribeStacksCommand };
const stackIn = (StackStatus: string) => ({ send: async () => ({ Stacks: [{ StackStatus }] }) });
const updating = stackIn('UPDATE_IN_PROGRESS');

function fakeEcs(answers: any[]) {
  const sent: any[] = [];
  return {
    sent,
    client: { send: async (command: any) => { sent.push(command); return answers.shift(); } },
  };
}

const props = {
  ClusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/airflow',
  TaskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/migrate:7',
  Subnets: ['subnet-a', 'subnet-b'],
  SecurityGroups: ['sg-1'],
  LogGroupName: '/airflow/migrate',
};
const taskArn = 'arn:aws:ecs:eu-west-1:123456789012:task/airflow/abc';

describe('migration runner', () => {
  test('create and update start the migration task in the private subnets and return its ARN', async () => {
    for (const RequestType of ['Create', 'Update']) {
      const ecs = fakeEcs([{ tasks: [{ taskArn }], failures: [] }]);
      const h = makeHandlers(ecs.client, updating, commands);
      await expect(h.onEvent({ RequestType, StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/airflow/1', ResourceProperties: props, PhysicalResourceId: 'old' }))
        .resolves.toEqual({ PhysicalResourceId: taskArn });
      expect(ecs.sent[0]).toBeInstanceOf(RunTaskCommand);
      expect(ecs.sent[0].input).toEqual(expect.objectContaining({
        cluster: props.ClusterArn,
        taskDefinition: props.TaskDefinitionArn,
        count: 1,
        launchType: 'FARGATE',
        networkConfiguration: { awsvpcConfiguration: { subnets: props.Subnets, securityGroups: props.SecurityGroups, assignPublicIp: 'DISABLED' } },
      }));
    }
  });

  // pitfall #29: Migrations raced the services
  test('a rollback does not run the old migration against the newer schema', async () => {
    const ecs = fakeEcs([]);
    const h = makeHandlers(ecs.client, stackIn('UPDATE_ROLLBACK_IN_PROGRESS'), commands);
    const event = { RequestType: 'Update', StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/airflow/1', ResourceProperties: props, PhysicalResourceId: taskArn };
    const result = await h.onEvent(event);
    expect(result).toEqual({ PhysicalResourceId: taskArn, Data: { Skipped: 'rollback' } });
    await expect(h.isComplete({ ...event, ...result })).resolves.toEqual({ IsComplete: true });
    expect(ecs.sent).toEqual([]);
  });

  test('delete does nothing', async () => {
    const ecs = fakeEcs([]);
    const h = makeHandlers(ecs.client, updating, commands);
    await expect(h.onEvent({ RequestType: 'Delete', ResourceProperties: props, PhysicalResourceId: taskArn })).resolves.toEqual({ PhysicalResourceId: taskArn });
    await expect(h.isComplete({ RequestType: 'Delete', ResourceProperties: props, PhysicalResourceId: taskArn })).resolves.toEqual({ IsComplete: true });
    expect(ecs.sent).toEqual([]);
  });

  test('a task ECS cannot place fails the deployment with ECS\'s reason', async () => {
    const ecs = fakeEcs([{ tasks: [], failures: [{ reason: 'RESOURCE:ENI' }] }]);
    const h = makeHandlers(ecs.client, updating, commands);
    await expect(h.onEvent({ RequestType: 'Create', ResourceProperties: props })).rejects.toThrow(/could not start the Airflow migration task: .*RESOURCE:ENI/);
  });

  test('waits while the task runs, completes on exit code 0', async () => {
    const ecs = fakeEcs([
      { tasks: [{ taskArn, lastStatus: 'RUNNING', containers: [{ name: 'migrate' }] }] },
      { tasks: [{ taskArn, lastStatus: 'STOPPED', containers: [{ name: 'migrate', exitCode: 0 }] }] },
    ]);
    const h = makeHandlers(ecs.client, updating, commands);
    const event = { RequestType: 'Update', ResourceProperties: props, PhysicalResourceId: taskArn };
    await expect(h.isComplete(event)).resolves.toEqual({ IsComplete: false });
    await expect(h.isComplete(event)).resolves.toEqual({ IsComplete: true });
    expect(ecs.sent[0].input).toEqual({ cluster: props.ClusterArn, tasks: [taskArn] });
  });

  test('a failed migration fails the deployment and says where its logs are', async () => {
    const ecs = fakeEcs([{ tasks: [{ taskArn, lastStatus: 'STOPPED', stoppedReason: 'Essential container in task exited', containers: [{ name: 'migrate', exitCode: 1 }] }] }]);
    const h = makeHandlers(ecs.client, updating, commands);
    await expect(h.isComplete({ RequestType: 'Create', ResourceProperties: props, PhysicalResourceId: taskArn }))
      .rejects.toThrow(/migration task .* failed \(exit code 1: Essential container in task exited\); its output is in the log group \/airflow\/migrate/);
  });

  test('a task stopped before its container ran (image pull failure) fails too', async () => {
    const ecs = fakeEcs([{ tasks: [{ taskArn, lastStatus: 'STOPPED', stoppedReason: 'CannotPullContainerError', containers: [{ name: 'migrate' }] }] }]);
    const h = makeHandlers(ecs.client, updating, commands);
    await expect(h.isComplete({ RequestType: 'Create', ResourceProperties: props, PhysicalResourceId: taskArn }))
      .rejects.toThrow(/exit code none: CannotPullContainerError/);
  });
});
