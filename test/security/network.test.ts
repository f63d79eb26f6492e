/**
 * Security groups allow exactly what Airflow needs and nothing more: the full ingress and egress
 * rule sets of both stacks, compared with the intended matrix.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { twoStacks } from '../util';

const LABELS: [RegExp, string][] = [
  [/ApiServerSecurityGroup/, 'api-server'],
  [/SchedulerSecurityGroup/, 'scheduler'],
  [/DagProcessorSecurityGroup/, 'dag-processor'],
  [/TriggererSecurityGroup/, 'triggerer'],
  [/WorkersSecurityGroup/, 'workers'],
  [/MigrationSecurityGroup/, 'migration'],
  [/DatabaseCleanupSecurityGroup/, 'db-clean'],
  [/LoadBalancerSecurityGroup/, 'load-balancer'],
  [/DatabaseSecurityGroup/, 'database'],
  [/BrokerSecurityGroup/, 'broker'],
  [/CDKECRDeployment.*SecurityGroup/, 'image-copy'],
  [/NatSecurityGroup/, 'nat-instance'],
];

function label(ref: unknown): string {
  const text = JSON.stringify(ref);
  const hit = LABELS.find(([re]) => re.test(text));
  if (hit) return hit[1];
  if (/VpcCidrBlock|CidrBlock/.test(text)) return 'vpc-cidr';
  if (text === '"10.0.16.0/20"' || text === '"10.0.32.0/20"') return 'private-subnet';
  if (typeof ref === 'string') return ref;
  throw new Error(`unlabelled security group reference ${text}`);
}

function port(r: any): string {
  if (r.IpProtocol === '-1') return 'all';
  return r.FromPort === r.ToPort ? `${r.IpProtocol}/${r.FromPort}` : `${r.IpProtocol}/${r.FromPort}-${r.ToPort}`;
}

/** Every rule as "target <- source port" (ingress) or "source -> destination port" (egress). */
function rules(templates: Template[]): { ingress: string[]; egress: string[] } {
  const ingress: string[] = [];
  const egress: string[] = [];
  for (const t of templates) {
    for (const [id, sg] of Object.entries<any>(t.findResources('AWS::EC2::SecurityGroup'))) {
      for (const r of sg.Properties.SecurityGroupIngress ?? []) ingress.push(`${label(id)} <- ${label(r.CidrIp ?? r.SourceSecurityGroupId)} ${port(r)}`);
      for (const r of sg.Properties.SecurityGroupEgress ?? []) egress.push(`${label(id)} -> ${label(r.CidrIp ?? r.DestinationSecurityGroupId)} ${port(r)}`);
    }
    for (const r of Object.values<any>(t.findResources('AWS::EC2::SecurityGroupIngress'))) {
      ingress.push(`${label(r.Properties.GroupId)} <- ${label(r.Properties.CidrIp ?? r.Properties.SourceSecurityGroupId)} ${port(r.Properties)}`);
    }
    for (const r of Object.values<any>(t.findResources('AWS::EC2::SecurityGroupEgress'))) {
      egress.push(`${label(r.Properties.GroupId)} -> ${label(r.Properties.CidrIp ?? r.Properties.DestinationSecurityGroupId)} ${port(r.Properties)}`);
    }
  }
  return { ingress: ingress.sort(), egress: egress.sort() };
}

// pitfall #46b: Security group rules missing between components
test('the security group matrix of the default deployment, exactly', () => {
  const t = twoStacks();
  const { ingress, egress } = rules([t.storageTemplate, t.servicesTemplate]);
  expect(ingress).toEqual([
    'api-server <- load-balancer tcp/8080',
    'api-server <- workers tcp/8080',
    'broker <- scheduler tcp/6379',
    'broker <- workers tcp/6379',
    'database <- api-server tcp/5432',
    'database <- dag-processor tcp/5432',
    'database <- db-clean tcp/5432',
    'database <- migration tcp/5432',
    'database <- scheduler tcp/5432',
    'database <- triggerer tcp/5432',
    'database <- workers tcp/5432',
    'load-balancer <- vpc-cidr tcp/80',
    // the NAT instance forwards what the private subnets send, and admits nothing else
    'nat-instance <- private-subnet all',
    'nat-instance <- private-subnet all',
    'triggerer <- api-server tcp/8794',
    'workers <- api-server tcp/8793',
  ]);
  expect(egress).toEqual([
    // Airflow tasks: image pulls, AWS APIs, git, and whatever the DAGs call
    'api-server -> 0.0.0.0/0 all',
    // CDK's placeholder that denies all egress: the broker and the database answer, never call
    'broker -> 255.255.255.255/32 icmp/252-86',
    'dag-processor -> 0.0.0.0/0 all',
    'database -> 255.255.255.255/32 icmp/252-86',
    'db-clean -> 0.0.0.0/0 all',
    // the function that copies the public images into ECR at deploy time: Docker Hub, registry.k8s.io, ECR
    'image-copy -> 0.0.0.0/0 all',
    'load-balancer -> api-server tcp/8080',
    'migration -> 0.0.0.0/0 all',
    'nat-instance -> 0.0.0.0/0 all',
    'scheduler -> 0.0.0.0/0 all',
    'triggerer -> 0.0.0.0/0 all',
    'workers -> 0.0.0.0/0 all',
  ]);
});
