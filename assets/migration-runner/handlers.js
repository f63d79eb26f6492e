'use strict';
// Custom resource handlers (CDK provider framework: onEvent + isComplete) that run Airflow's
// migration task once per deployment and fail the deployment when it fails.
// Plain JavaScript with no dependencies beyond the AWS SDK v3 that the Lambda runtime ships,
// so it needs no bundling. The clients are injected, so tests run these with fakes.

const MIGRATION_CONTAINER = 'migrate';

/**
 * @param ecs an ECS client (send)
 * @param cloudformation a CloudFormation client (send)
 * @param commands { RunTaskCommand, DescribeTasksCommand, DescribeStacksCommand }
 */
function makeHandlers(ecs, cloudformation, commands) {
  // During a rollback CloudFormation sends an Update with the old properties. Running the old
  // image's `airflow db migrate` against a schema the new image already migrated would fail and
  // leave the stack in UPDATE_ROLLBACK_FAILED: schema upgrades are forward-only, so do nothing.
  async function isRollingBack(event) {
    if (event.RequestType !== 'Update' || !event.StackId) return false;
    const out = await cloudformation.send(new commands.DescribeStacksCommand({ StackName: event.StackId }));
    const status = ((out.Stacks || [])[0] || {}).StackStatus || '';
    return status.includes('ROLLBACK');
  }

  async function onEvent(event) {
    if (event.RequestType === 'Delete') {
      // Nothing to undo: migrations are not rolled back by deleting the resource.
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    if (await isRollingBack(event)) {
      return { PhysicalResourceId: event.PhysicalResourceId, Data: { Skipped: 'rollback' } };
    }
    const p = event.ResourceProperties;
    const out = await ecs.send(new commands.RunTaskCommand({
      cluster: p.ClusterArn,
      taskDefinition: p.TaskDefinitionArn,
      count: 1,
      launchType: 'FARGATE',
      platformVersion: 'LATEST',
      startedBy: 'cdk-airflow-ecs',
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: p.Subnets,
          securityGroups: p.SecurityGroups,
          assignPublicIp: 'DISABLED',
        },
      },
    }));
    const failures = out.failures || [];
    if (failures.length > 0 || !out.tasks || out.tasks.length === 0) {
      throw new Error(`could not start the Airflow migration task: ${JSON.stringify(failures)}`);
    }
    // The task ARN is the physical id: a new task per deployment; CloudFormation then deletes
    // the old id, which is a no-op above.
    return { PhysicalResourceId: out.tasks[0].taskArn };
  }

  async function isComplete(event) {
    if (event.RequestType === 'Delete' || (event.Data && event.Data.Skipped)) {
      return { IsComplete: true };
    }
    const p = event.ResourceProperties;
    const out = await ecs.send(new commands.DescribeTasksCommand({
      cluster: p.ClusterArn,
      tasks: [event.PhysicalResourceId],
    }));
    const task = (out.tasks || [])[0];
    if (!task) {
      throw new Error(`the Airflow migration task ${event.PhysicalResourceId} is gone: ${JSON.stringify(out.failures || [])}`);
    }
    if (task.lastStatus !== 'STOPPED') {
      return { IsComplete: false };
    }
    const container = (task.containers || []).find(c => c.name === MIGRATION_CONTAINER);
    const exitCode = container ? container.exitCode : undefined;
    if (exitCode === 0) {
      return { IsComplete: true };
    }
    const reason = [task.stoppedReason, container && container.reason].filter(Boolean).join('; ');
    throw new Error(`the Airflow migration task ${task.taskArn} failed (exit code ${exitCode === undefined ? 'none' : exitCode}${reason ? `: ${reason}` : ''}); its output is in the log group ${p.LogGroupName}`);
  }

  return { onEvent, isComplete };
}

module.exports = { makeHandlers, MIGRATION_CONTAINER };
