'use strict';
// Lambda entry point: the AWS SDK v3 comes with the Node.js Lambda runtime.
const sdk = require('@aws-sdk/client-ecs');
const { makeHandlers } = require('./handlers');

const handlers = makeHandlers(new sdk.ECSClient({}), sdk);
exports.onEvent = handlers.onEvent;
exports.isComplete = handlers.isComplete;
