'use strict';
// Lambda entry point: the AWS SDK v3 comes with the Node.js Lambda runtime.
const ecs = require('@aws-sdk/client-ecs');
const cloudformation = require('@aws-sdk/client-cloudformation');
const { makeHandlers } = require('./handlers');

const handlers = makeHandlers(new ecs.ECSClient({}), new cloudformation.CloudFormationClient({}), {
  RunTaskCommand: ecs.RunTaskCommand,
  DescribeTasksCommand: ecs.DescribeTasksCommand,
  DescribeStacksCommand: cloudformation.DescribeStacksCommand,
});
exports.onEvent = handlers.onEvent;
exports.isComplete = handlers.isComplete;
