import { App, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AirflowOnEcs, AirflowStorage, AirflowStorageProps } from '../../src';
import { synthError, twoStacks } from '../util';

function storageAlone(props: AirflowStorageProps = {}): { stack: Stack; storage: AirflowStorage; template: Template } {
  const stack = new Stack(new App(), 'Storage');
  const storage = new AirflowStorage(stack, 'Storage', props);
  return { stack, storage, template: Template.fromStack(stack) };
}

describe('AirflowStorage', () => {
  describe('with default settings, in its own stack', () => {
    const { template } = storageAlone();

    test('creates a VPC across 2 AZs with private subnets, one NAT instance and an S3 gateway endpoint', () => {
      template.resourceCountIs('AWS::EC2::VPC', 1);
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.resourceCountIs('AWS::EC2::Instance', 1);
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', ServiceName: Match.objectLike({}) });
      const subnets = Object.values<any>(template.findResources('AWS::EC2::Subnet'));
      const types = subnets.map(s => s.Properties.Tags.find((t: any) => t.Key === 'aws-cdk:subnet-type').Value);
      expect(types.filter(t => t === 'Private')).toHaveLength(2);
      expect(types.filter(t => t === 'Isolated')).toHaveLength(2);
      expect(types.filter(t => t === 'Public')).toHaveLength(2);
    });

    test('the NAT instance: a Graviton t4g.nano with IMDSv2 and an encrypted root volume, a route for each private subnet, open to them only', () => {
      const [instance] = Object.values<any>(template.findResources('AWS::EC2::Instance'));
      expect(instance.Properties).toMatchObject({
        InstanceType: 't4g.nano',
        SourceDestCheck: false,
        NetworkInterfaces: [expect.objectContaining({ AssociatePublicIpAddress: true })],
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: expect.objectContaining({ Encrypted: true, VolumeType: 'gp3' }) }],
      });
      expect(instance.Properties.MetadataOptions).toMatchObject({ HttpTokens: 'required' });
      template.resourceCountIs('AWS::EC2::LaunchTemplate', 0);
      const natId = Object.keys(template.findResources('AWS::EC2::Instance'))[0];
      const routes = Object.values<any>(template.findResources('AWS::EC2::Route', { Properties: { InstanceId: { Ref: natId } } }));
      expect(routes).toHaveLength(2);
      expect(routes.every(r => r.Properties.DestinationCidrBlock === '0.0.0.0/0')).toBe(true);
      const [sg] = Object.entries<any>(template.findResources('AWS::EC2::SecurityGroup')).filter(([id]) => id.includes('NatSecurityGroup')).map(([, r]) => r);
      const privateCidrs = Object.values<any>(template.findResources('AWS::EC2::Subnet'))
        .filter(s => s.Properties.Tags.some((t: any) => t.Key === 'aws-cdk:subnet-type' && t.Value === 'Private'))
        .map(s => s.Properties.CidrBlock).sort();
      expect(sg.Properties.SecurityGroupIngress.map((r: any) => r.CidrIp).sort()).toEqual(privateCidrs);
      expect(sg.Properties.SecurityGroupIngress.every((r: any) => r.IpProtocol === '-1')).toBe(true);
    });

    test('creates an encrypted PostgreSQL that keeps its data: deletion protection, 7-day backups, snapshot on removal', () => {
      template.hasResource('AWS::RDS::DBInstance', {
        DeletionPolicy: 'Snapshot',
        UpdateReplacePolicy: 'Snapshot',
        Properties: Match.objectLike({
          Engine: 'postgres',
          StorageEncrypted: true,
          DeletionProtection: true,
          BackupRetentionPeriod: 7,
          MultiAZ: false,
          PubliclyAccessible: false,
          DBName: 'airflow',
          DBInstanceClass: 'db.t4g.small',
        }),
      });
      template.hasResourceProperties('AWS::RDS::DBParameterGroup', { Parameters: { 'rds.force_ssl': '1' } });
    });

    test('puts the database and the broker in the isolated subnets', () => {
      const subnetGroup = Object.values<any>(template.findResources('AWS::RDS::DBSubnetGroup'))[0];
      const isolated = Object.entries<any>(template.findResources('AWS::EC2::Subnet'))
        .filter(([, s]) => s.Properties.Tags.some((t: any) => t.Key === 'aws-cdk:subnet-type' && t.Value === 'Isolated'))
        .map(([id]) => ({ Ref: id }));
      expect(subnetGroup.Properties.SubnetIds).toEqual(isolated);
      template.hasResourceProperties('AWS::ElastiCache::SubnetGroup', { SubnetIds: isolated });
    });

    test('creates a one-shard Valkey replication group with TLS required and an AUTH token from Secrets Manager', () => {
      template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        Engine: 'valkey',
        NumNodeGroups: 1,
        ReplicasPerNodeGroup: 0,
        TransitEncryptionEnabled: true,
        TransitEncryptionMode: 'required',
        AtRestEncryptionEnabled: true,
        AuthToken: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: Match.stringLikeRegexp('BrokerAuthToken') }, ':SecretString:::}}']] },
      });
      template.resourceCountIs('AWS::ElastiCache::ServerlessCache', 0);
    });

    test('lets nothing into the database or the broker until a service asks', () => {
      for (const [id, sg] of Object.entries<any>(template.findResources('AWS::EC2::SecurityGroup'))) {
        if (id.includes('NatSecurityGroup')) continue;
        expect(sg.Properties.SecurityGroupIngress ?? []).toEqual([]);
      }
      template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    });

    test('generates every shared secret once, in Secrets Manager, with the format Airflow needs', () => {
      template.resourceCountIs('AWS::SecretsManager::Secret', 6);
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        Description: Match.stringLikeRegexp('Fernet'),
        GenerateSecretString: { PasswordLength: 43, ExcludePunctuation: true, IncludeSpace: false },
      });
      for (const what of ['jwt_secret', 'secret_key', 'admin user', 'AUTH token']) {
        template.hasResourceProperties('AWS::SecretsManager::Secret', {
          Description: Match.stringLikeRegexp(what),
          GenerateSecretString: Match.objectLike({ ExcludePunctuation: true }),
        });
      }
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password', SecretStringTemplate: '{"username":"airflow"}' }),
      });
      expect(JSON.stringify(template.toJSON())).not.toMatch(/"(SecretString|MasterUserPassword|AuthToken)":\s*"[^{]/);
    });

    test('keeps task logs in an encrypted, private, TLS-only bucket that is retained', () => {
      template.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
          PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        }),
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
      // VPC flow logs go to the same bucket, with their delivery permissions in the template
      template.hasResourceProperties('AWS::EC2::FlowLog', { LogDestinationType: 's3', TrafficType: 'ALL' });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'AWSLogDeliveryWrite', Principal: { Service: 'delivery.logs.amazonaws.com' } })]) },
      });
    });
  });

  test('Multi-AZ database and broker replicas are options', () => {
    const { template } = storageAlone({ database: { multiAz: true }, broker: { replicas: 1 } });
    template.hasResourceProperties('AWS::RDS::DBInstance', { MultiAZ: true });
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { ReplicasPerNodeGroup: 1, AutomaticFailoverEnabled: true, MultiAZEnabled: true });
  });

  describe('pitfall #6, #25: a stack with an explicit account and region synthesizes without AWS credentials', () => {
    const env = { account: '123456789012', region: 'eu-west-1' };

    test('with availabilityZones: no context lookup, subnets in those zones, the stack\'s own zones untouched', () => {
      // a fresh app: no cdk.context.json, no credentials
      const app = new App();
      const stack = new Stack(app, 'Storage', { env });
      new AirflowStorage(stack, 'Storage', { availabilityZones: ['eu-west-1b', 'eu-west-1c'] });
      const assembly = app.synth();
      expect(assembly.manifest.missing ?? []).toEqual([]);
      const azs = Object.values<any>(Template.fromStack(stack).findResources('AWS::EC2::Subnet')).map(r => r.Properties.AvailabilityZone);
      expect(new Set(azs)).toEqual(new Set(['eu-west-1b', 'eu-west-1c']));
      expect(azs).toHaveLength(6);
      // the override lasted only while the VPC was built
      expect(Object.prototype.hasOwnProperty.call(stack, 'availabilityZones')).toBe(false);
    });

    test('without it, the CDK would look the zones up, and synth says what to do', () => {
      const app = new App();
      const stack = new Stack(app, 'Storage', { env });
      new AirflowStorage(stack, 'Storage');
      const assembly = app.synth();
      expect((assembly.manifest.missing ?? []).map(m => m.key)).toEqual(['availability-zones:account=123456789012:region=eu-west-1']);
      Annotations.fromStack(stack).hasWarning('/Storage/Storage', Match.stringLikeRegexp(
        "explicit account and region \\(123456789012, eu-west-1\\).*needs AWS credentials or a committed cdk.context.json; pass availabilityZones \\(for example \\['eu-west-1a', 'eu-west-1b'\\]\\)"));
    });

    test('an environment-agnostic stack needs no lookup, and gets no warning', () => {
      const app = new App();
      const stack = new Stack(app, 'Storage');
      new AirflowStorage(stack, 'Storage');
      expect(app.synth().manifest.missing ?? []).toEqual([]);
      Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('availabilityZones'));
    });

    // pitfall #25: Subnets in the wrong AZs
    test('zones of another region, too few zones, or zones beside an imported VPC are refused', () => {
      const inEnv = (props: (s: Stack) => AirflowStorageProps) => {
        const app = new App();
        const stack = new Stack(app, 'S', { env });
        try {
          new AirflowStorage(stack, 'Storage', props(stack));
          app.synth();
          return '';
        } catch (e) {
          return (e as Error).message;
        }
      };
      expect(inEnv(() => ({ availabilityZones: ['us-east-1a', 'eu-west-1b'] })))
        .toMatch(/availabilityZones \(\["us-east-1a","eu-west-1b"\]\) must be zones of the stack's region eu-west-1, such as 'eu-west-1a'; 'us-east-1a' is not/);
      expect(inEnv(() => ({ availabilityZones: ['eu-west-1a'] })))
        .toMatch(/availabilityZones \(\["eu-west-1a"\]\) must name at least 2 different zones: RDS and ElastiCache need subnets in 2; list 2 or more zones of the region, such as \['eu-west-1a', '…b'\]/);
      expect(inEnv(s => ({ availabilityZones: ['eu-west-1a', 'eu-west-1b'], vpc: new ec2.Vpc(s, 'Vpc', { availabilityZones: ['eu-west-1a', 'eu-west-1b'] }) })))
        .toMatch(/availabilityZones \(\["eu-west-1a","eu-west-1b"\]\) is for the VPC AirflowStorage creates, and vpc is given; remove availabilityZones/);
    });
  });

  test('accepts an imported VPC whose AZs are deploy-time values', () => {
    const stack = new Stack(new App(), 'S');
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-1', availabilityZones: Fn.getAzs(), privateSubnetIds: ['subnet-p1', 'subnet-p2'],
    });
    expect(() => new AirflowStorage(stack, 'Storage', { vpc })).not.toThrow();
  });

  test('uses an imported VPC', () => {
    const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-1',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      vpcCidrBlock: '10.1.0.0/16',
      privateSubnetIds: ['subnet-p1', 'subnet-p2'],
      publicSubnetIds: ['subnet-u1', 'subnet-u2'],
    });
    new AirflowStorage(stack, 'Storage', { vpc });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.hasResourceProperties('AWS::RDS::DBSubnetGroup', { SubnetIds: ['subnet-p1', 'subnet-p2'] });
  });

  test('brings its own database instance and secret, and lets the Airflow tasks in on its port', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const sg = new ec2.SecurityGroup(stack, 'DbSg', { vpc });
    const instance = rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Db', {
      instanceIdentifier: 'mydb', instanceEndpointAddress: 'mydb.abc.eu-west-1.rds.amazonaws.com', port: 5432, securityGroups: [sg],
    });
    const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'DbSecret', 'airflow/db');
    const storage = new AirflowStorage(stack, 'Storage', { vpc, database: { existingInstance: instance, existingSecret: secret, databaseName: 'airflow_prod' } });
    new AirflowOnEcs(stack, 'Airflow', { storage });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::RDS::DBInstance', 0);
    const json = JSON.stringify(template.toJSON());
    expect(json).toContain('mydb.abc.eu-west-1.rds.amazonaws.com');
    expect(json).toContain('"Value":"airflow_prod"');
    expect(json).toContain('secret:airflow/db');
    const dbIngress = Object.values<any>(template.findResources('AWS::EC2::SecurityGroupIngress'))
      .filter(r => r.Properties.FromPort === 5432);
    expect(dbIngress).toHaveLength(7); // five components, the migration, the db clean
    for (const r of dbIngress) expect(r.Properties.GroupId).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(sg.node.defaultChild as ec2.CfnSecurityGroup), 'GroupId'] });
  });

  test('natProvider: ec2.NatProvider.gateway() gives a managed NAT gateway and no instance', () => {
    const { template } = storageAlone({ natProvider: ec2.NatProvider.gateway() });
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::EC2::Instance', 0);
  });

  test('database.removalPolicy DESTROY is allowed but warns at synth', () => {
    const { stack } = storageAlone({ database: { removalPolicy: RemovalPolicy.DESTROY, deletionProtection: false } });
    Annotations.fromStack(stack).hasWarning('/Storage/Storage', Match.stringLikeRegexp('removalPolicy is RemovalPolicy.DESTROY'));
  });

  // pitfall #31b: Database reachable from too much, or not at all
  test('the database ingress comes only from Airflow task security groups, on 5432', () => {
    const t = twoStacks();
    const dbSgId = Object.keys(t.storageTemplate.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('metadata database') } }))[0];
    const rules = Object.values<any>(t.servicesTemplate.findResources('AWS::EC2::SecurityGroupIngress'))
      .filter(r => JSON.stringify(r.Properties.GroupId).includes(dbSgId));
    expect(rules).toHaveLength(7); // five components, the migration and the db clean
    for (const r of rules) {
      expect([r.Properties.FromPort, r.Properties.ToPort, r.Properties.IpProtocol]).toEqual([5432, 5432, 'tcp']);
      expect(r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]).toMatch(/(ApiServer|Scheduler|DagProcessor|Triggerer|Workers|Migration|DatabaseCleanup)SecurityGroup/);
      expect(r.Properties.CidrIp).toBeUndefined();
    }
  });

  test('the broker ingress comes only from the scheduler and the workers, on 6379', () => {
    const t = twoStacks();
    const rules = Object.values<any>(t.servicesTemplate.findResources('AWS::EC2::SecurityGroupIngress'))
      .filter(r => JSON.stringify(r.Properties.GroupId).includes('BrokerSecurityGroup'));
    expect(rules.map(r => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0].replace(/[0-9A-F]{8}$/, '')).sort())
      .toEqual(['AirflowSchedulerSecurityGroup', 'AirflowWorkersSecurityGroup']);
    for (const r of rules) expect([r.Properties.FromPort, r.Properties.ToPort]).toEqual([6379, 6379]);
  });

  describe('rejects bad input at synth, naming the prop, the value and the fix', () => {
    const instance = (stack: Stack) => rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Db', {
      instanceIdentifier: 'x', instanceEndpointAddress: 'x.example.com', port: 5432, securityGroups: [],
    });
    const cases: [string, (stack: Stack) => AirflowStorageProps, RegExp][] = [
      ['existing instance without secret', s => ({ database: { existingInstance: instance(s) } }), /database\.existingInstance is set without database\.existingSecret; pass the Secrets Manager secret/],
      ['secret without existing instance', s => ({ database: { existingSecret: secretsmanager.Secret.fromSecretNameV2(s, 'X', 'x') } }), /database\.existingSecret is set without database\.existingInstance/],
      ['new-instance settings with an existing instance', s => ({ database: { existingInstance: instance(s), existingSecret: secretsmanager.Secret.fromSecretNameV2(s, 'X', 'x'), multiAz: true } }), /database\.multiAz cannot be combined with database\.existingInstance/],
      ['backups kept less than 7 days', () => ({ database: { backupRetention: Duration.days(1) } }), /database\.backupRetention \(1 days\) is below 7 days; keep at least Duration\.days\(7\)/],
      ['storage below 20 GiB', () => ({ database: { allocatedStorageGiB: 10 } }), /database\.allocatedStorageGiB \(10\) must be between 20 and 65536/],
      ['max storage below storage', () => ({ database: { allocatedStorageGiB: 50, maxAllocatedStorageGiB: 30 } }), /database\.maxAllocatedStorageGiB \(30\) must be >= database\.allocatedStorageGiB \(50\); raise maxAllocatedStorageGiB/],
      ['database name with a dash', () => ({ database: { databaseName: 'air-flow' } }), /database\.databaseName \('air-flow'\) must start with a letter and contain only letters, digits and underscores/],
      ['too many broker replicas', () => ({ broker: { replicas: 6 } }), /broker\.replicas \(6\) must be between 0 and 5/],
      ['fractional broker replicas', () => ({ broker: { replicas: 1.5 } }), /broker\.replicas \(1\.5\) must be a whole number >= 0/],
      ['a Redis OSS version for Valkey', () => ({ broker: { engineVersion: '6.2' } }), /broker\.engineVersion \('6\.2'\) is not a Valkey version ElastiCache runs; use '8\.0', '8\.1' or '7\.2'/],
      ['an EC2 instance type as node type', () => ({ broker: { nodeType: 't4g.micro' } }), /broker\.nodeType \('t4g\.micro'\) is not a cache node type; use a name such as 'cache\.t4g\.micro'/],
      ['an imported database without security groups', s => ({ database: { existingInstance: instance(s), existingSecret: secretsmanager.Secret.fromSecretNameV2(s, 'X', 'x') } }), /database\.existingInstance has no security groups, so the Airflow tasks cannot be let in; import it with .*securityGroups/],
      ['natProvider with an imported VPC', s => ({ natProvider: ec2.NatProvider.gateway(), vpc: ec2.Vpc.fromVpcAttributes(s, 'Vpc', { vpcId: 'vpc-1', availabilityZones: ['eu-west-1a', 'eu-west-1b'], privateSubnetIds: ['s-1', 's-2'] }) }), /natProvider is for the VPC AirflowStorage creates, and vpc is given \(its egress is its own\); remove natProvider/],
      ['an imported VPC in one AZ', s => ({ vpc: ec2.Vpc.fromVpcAttributes(s, 'Vpc', { vpcId: 'vpc-1', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['s-1'] }) }), /the data subnets of vpc \(S\/Vpc\) are in 1 Availability Zone; RDS and ElastiCache need subnets in at least 2; pass dataSubnets across 2 or more AZs/],
    ];
    test.each(cases)('%s', (_name, props, message) => {
      expect(synthError(stack => new AirflowStorage(stack, 'Storage', props(stack)))).toMatch(message);
    });

    test('reports every problem at synth, in one error, with the construct path', () => {
      expect(synthError(stack => new AirflowStorage(stack, 'Storage', { broker: { replicas: 9 }, database: { allocatedStorageGiB: 5 } })))
        .toMatch(/Validation failed with the following errors:\n {2}\[S\/Storage\] .*allocatedStorageGiB.*\n {2}\[S\/Storage\] .*replicas/);
    });
  });
});
