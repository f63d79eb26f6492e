import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** A cdk-nag rule acknowledged on a resource, with the reason a security reviewer reads. */
export interface NagAcknowledgement {
  readonly id: string;
  readonly reason: string;
  /**
   * The findings accepted, for rules that report several per resource (IAM4, IAM5): exact
   * finding ids or `{ regex: '/.../' }`. Any other finding of the rule is still reported, so a
   * wildcard a user's grant adds to the same policy shows up.
   */
  readonly appliesTo?: (string | { regex: string })[];
}

/**
 * Acknowledges cdk-nag rules on the CloudFormation resources of `scope` (and its children), in
 * the `cdk_nag` metadata cdk-nag reads, without making cdk-nag a dependency of the library. Every
 * acknowledgement is listed in the README ("Security checks") and checked by test/security/nag.test.ts.
 */
export function acknowledgeNag(scope: IConstruct, acknowledgements: NagAcknowledgement[], applyToChildren = false): void {
  const targets = applyToChildren ? scope.node.findAll() : [scope];
  for (const target of targets) {
    const l1 = target.node.defaultChild ?? target;
    if (!(l1 instanceof CfnResource)) continue;
    const existing: NagAcknowledgement[] = l1.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
    const added = acknowledgements.filter(a => !existing.some(e => e.id === a.id && e.reason === a.reason));
    // cdk-nag's metadata format: snake_case applies_to
    const rules = added.map(a => ({ id: a.id, reason: a.reason, ...(a.appliesTo ? { applies_to: a.appliesTo } : {}) }));
    l1.addMetadata('cdk_nag', { rules_to_suppress: [...existing, ...rules] });
  }
}

/** The reasons, in one place, so the README table and the code say the same. */
export const NAG = {
  secretRotation: {
    id: 'AwsSolutions-SMG4',
    reason: 'Airflow reads these secrets when a task starts and keeps them in memory; automatic rotation would leave running tasks with stale values (and the Fernet key needs airflow rotate-fernet-key). Rotate deliberately and redeploy, as the README describes.',
  },
  databaseMultiAz: {
    id: 'AwsSolutions-RDS3',
    reason: 'Multi-AZ doubles the database cost; it is one prop away (database.multiAz: true) for deployments that need to survive an AZ outage.',
  },
  natInstanceMonitoring: {
    id: 'AwsSolutions-EC28',
    reason: 'The NAT instance forwards packets and keeps no state of its own; 5-minute basic monitoring is enough, and detailed monitoring would add about $2 a month to a $3 instance. natProvider: ec2.NatProvider.gateway() for a managed NAT.',
  },
  natInstanceTermination: {
    id: 'AwsSolutions-EC29',
    reason: 'The NAT instance is replaced by CloudFormation like any resource and holds no data; EC2 recovers it on a host failure (simplified automatic recovery). natProvider: ec2.NatProvider.gateway() for a managed NAT.',
  },
  databaseMonitoringRole: {
    id: 'AwsSolutions-IAM4',
    reason: 'AmazonRDSEnhancedMonitoringRole is the AWS-managed policy RDS enhanced monitoring requires; it only lets RDS publish OS metrics to CloudWatch Logs.',
  },
  databasePort: {
    id: 'AwsSolutions-RDS11',
    reason: 'A non-default port adds no security: the database security group admits only the Airflow tasks on 5432.',
  },
  brokerMultiAz: {
    id: 'AwsSolutions-AEC4',
    reason: 'The broker holds only in-flight Celery messages, which Airflow re-queues after a failover; replicas (broker.replicas) add Multi-AZ where needed.',
  },
  logBucketAccessLogs: {
    id: 'AwsSolutions-S1',
    reason: 'The bucket holds Airflow task logs (written and read only by the Airflow task roles, under logs/) and the VPC flow logs (written by the log delivery service); server access logging would need a second bucket for little value.',
  },
  taskEnvironment: {
    id: 'AwsSolutions-ECS2',
    reason: 'The environment holds only non-secret Airflow configuration; every secret reaches the containers as an ECS secret (checked by test/template-hygiene.test.ts).',
  },
  logBucketObjects: {
    id: 'AwsSolutions-IAM5',
    reason: 'Wildcards are object keys under logs/ in the task-log bucket and S3 read/write actions on them: Airflow writes one log object per task try.',
    appliesTo: [
      'Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*', 'Action::s3:Abort*', 'Action::s3:DeleteObject*',
      { regex: '/^Resource::.*\\/logs\\/\\*$/' },
    ],
  },
  secretsBackend: {
    id: 'AwsSolutions-IAM5',
    reason: 'The secrets backend reads the connections, variables and configuration Airflow asks for by name under the configured prefixes; the wildcard is the names under each prefix.',
    appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:(secretsmanager|ssm):<AWS::Region>:<AWS::AccountId>:(secret|parameter)[:/].*\\/\\*$/' }],
  },
  executeCommand: {
    id: 'AwsSolutions-IAM5',
    reason: 'ECS Exec: ssmmessages channel actions and logs:DescribeLogGroups support no resource ARNs (an opt-in operator access).',
    appliesTo: ['Resource::*'],
  },
  putMetricData: {
    id: 'AwsSolutions-IAM5',
    reason: 'cloudwatch:PutMetricData supports no resource ARNs; the policy is limited to the library\'s two namespaces by the cloudwatch:namespace condition.',
    appliesTo: ['Resource::*'],
  },
  taskProtection: {
    id: 'AwsSolutions-IAM5',
    reason: 'Task protection and the drain check (DescribeTasks, DescribeServices) are scoped to the tasks and services of this cluster; '
      + 'task ARNs are not known before the tasks start, and a worker\'s own service cannot be named in its task definition (a cycle).',
    appliesTo: [
      { regex: '/^Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task\\/[^/]+\\/\\*$/' },
      { regex: '/^Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service\\/[^/]+\\/\\*$/' },
    ],
  },
  migrationLambdas: {
    id: 'AwsSolutions-IAM5',
    reason: 'The migration runner may describe only the tasks of this cluster and this stack, and the CDK provider framework may invoke only its own functions (the wildcard is their versions).',
    appliesTo: [
      { regex: '/^Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task\\/[^/]+\\/\\*$/' },
      { regex: '/^Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack\\/[^/]+\\/\\*$/' },
      { regex: '/^Resource::<[^>]+\\.Arn>:\\*$/' },
    ],
  },
  lambdaBasicExecution: {
    id: 'AwsSolutions-IAM4',
    reason: 'AWSLambdaBasicExecutionRole grants only CloudWatch Logs writes for the function\'s own logs.',
  },
  lambdaVpcExecution: {
    id: 'AwsSolutions-IAM4',
    reason: 'AWSLambdaVPCAccessExecutionRole lets the image-copy function, which runs in the VPC, create and delete its own network interfaces.',
    appliesTo: [{ regex: '/^Policy::arn:<AWS::Partition>:iam::aws:policy\\/service-role\\/AWSLambdaVPCAccessExecutionRole$/' }],
  },
  ecrAuthorizationToken: {
    id: 'AwsSolutions-IAM5',
    reason: 'Pulling the ECR copy of the image needs ecr:GetAuthorizationToken, which supports no resource ARNs; the pull actions themselves are limited to the stack\'s image repositories.',
    appliesTo: ['Resource::*'],
  },
  imageCopy: {
    id: 'AwsSolutions-IAM5',
    reason: 'cdk-ecr-deployment\'s function copies public images into the stack\'s ECR repositories; its policy (the library\'s, not ours) grants the ECR push and pull actions and s3:GetObject on any resource, and ecr:GetAuthorizationToken supports no resource ARNs.',
    appliesTo: ['Resource::*'],
  },
  providerRuntime: {
    id: 'AwsSolutions-L1',
    reason: 'The CDK custom resource provider framework chooses its own functions\' runtime; the migration runner itself uses the latest Node.js runtime of this aws-cdk-lib.',
  },
  waiterLogging: {
    id: 'AwsSolutions-SF1',
    reason: 'The CDK provider framework\'s waiter state machine only polls the migration runner; its failures surface in the CloudFormation events and the runner\'s logs.',
  },
  waiterTracing: {
    id: 'AwsSolutions-SF2',
    reason: 'X-Ray tracing of the CDK provider framework\'s polling state machine would add cost without insight.',
  },
  loadBalancerAccessLogs: {
    id: 'AwsSolutions-ELB2',
    reason: 'Access logs need a bucket in the load balancer\'s stack with an ELB delivery policy; enable them with loadBalancer.logAccessLogs(bucket) where required. Airflow logs every API request itself.',
  },
  publicLoadBalancer: {
    id: 'AwsSolutions-EC23',
    reason: 'WebAccess.publicHttps() without allowedCidrs asks for Airflow to be reachable from the internet over HTTPS (login required); pass allowedCidrs to restrict it.',
  },
  vpcCidrIngress: {
    id: 'AwsSolutions-EC23',
    reason: 'The load balancer admits only the VPC\'s own CIDR (or the given allowedCidrs); the CIDR is a deploy-time value cdk-nag cannot read.',
  },
} satisfies Record<string, NagAcknowledgement>;
