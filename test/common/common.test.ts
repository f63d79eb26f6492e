import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as rds from 'aws-cdk-lib/aws-rds';
import { AirflowImage, AirflowOnEcs, AirflowStorage, AirflowVersion, WebAccess } from '../../src';
import { synthError } from '../util';

describe('AirflowVersion', () => {
  test('a constant for the newest patch of every supported minor; the newest is the default', () => {
    expect(AirflowVersion.tested().map(v => v.version)).toEqual(['3.1.8', '3.2.2', '3.3.2']);
    expect(AirflowVersion.latest()).toBe(AirflowVersion.V3_3_2);
    expect(AirflowImage.official().airflowVersion).toBe(AirflowVersion.latest());
  });

  test('of() returns the constant for a tested release and accepts other 3.x releases from 3.1 on', () => {
    expect(AirflowVersion.of('3.2.2')).toBe(AirflowVersion.V3_2_2);
    expect(AirflowVersion.of('3.1.0').minorVersion).toBe('3.1');
    expect(AirflowVersion.of('3.4.0').version).toBe('3.4.0');
  });

  test('compares releases', () => {
    expect(AirflowVersion.V3_2_2.isAtLeast('3.2.0')).toBe(true);
    expect(AirflowVersion.V3_1_8.isAtLeast('3.2.0')).toBe(false);
    expect(AirflowVersion.of('3.10.0').isAtLeast('3.3.2')).toBe(true);
    expect(AirflowVersion.of('3.3.3').isNewerThanTested).toBe(true);
    expect(AirflowVersion.of('3.1.5').isNewerThanTested).toBe(false);
    expect(AirflowVersion.latest().isNewerThanTested).toBe(false);
  });

  test.each([
    ['v3.3.2', /AirflowVersion\.of\('v3\.3\.2'\): not a release version; cdk-airflow-ecs deploys Airflow 3\.1\.0 and later 3\.x releases\. Pass MAJOR\.MINOR\.PATCH such as '3\.3\.2'/],
    ['3.1.8-python3.12', /not a release version.*AirflowImage\.official\(version, \{ pythonVersion \}\)/],
    ['3.4.0b2', /not a release version.*no pre-release/],
    ['3.1', /not a release version/],
    ['3.0.6', /AirflowVersion\.of\('3\.0\.6'\): cdk-airflow-ecs deploys Airflow 3\.1\.0 and later 3\.x releases \(Airflow 3\.0 lacks options the library sets.*use AirflowVersion\.latest\(\) \(3\.3\.2\)/],
    ['2.10.5', /\(Airflow 2 has no api-server, dag-processor or Execution API\); use AirflowVersion\.latest\(\)/],
    ['4.0.0', /the library does not know this major release/],
  ])('rejects %s with the supported range and the fix', (version, message) => {
    expect(() => AirflowVersion.of(version)).toThrow(message);
  });
});

describe('AirflowImage', () => {
  test('rejects an empty or spaced image name', () => {
    expect(() => AirflowImage.fromRegistry('')).toThrow(/AirflowImage\.fromRegistry\(''\): not an image name; pass 'repository:tag'/);
    expect(() => AirflowImage.fromRegistry('apache/airflow 3.1.8')).toThrow(/not an image name/);
  });

  // pitfall #8: Slow image builds (UV, multi-stage)
  test('official() pins the newest release, or the one given, with an optional Python version', () => {
    expect(AirflowImage.official().description).toBe('apache/airflow:3.3.2');
    expect(AirflowImage.official(AirflowVersion.V3_1_8).description).toBe('apache/airflow:3.1.8');
    expect(AirflowImage.official(AirflowVersion.V3_2_2, { pythonVersion: '3.12' }).description).toBe('apache/airflow:3.2.2-python3.12');
  });

  test('refuses the Airflow 3.1 Python 3.13 images, which lack the FAB provider', () => {
    expect(() => AirflowImage.official(AirflowVersion.V3_1_8, { pythonVersion: '3.13' }))
      .toThrow(/AirflowImage\.official: the Airflow 3\.1\.8 images for Python 3\.13 lack the FAB provider, and the library's auth manager \(FabAuthManager\) needs it; use Python 3\.12/);
    expect(() => AirflowImage.fromRegistry('apache/airflow:3.1.8-python3.13')).toThrow(/lack the FAB provider/);
    expect(AirflowImage.official(AirflowVersion.V3_3_2, { pythonVersion: '3.13' }).description).toBe('apache/airflow:3.3.2-python3.13');
  });

  test('refuses a Python version without an official image', () => {
    expect(() => AirflowImage.official(AirflowVersion.V3_3_2, { pythonVersion: '3.9' }))
      .toThrow(/Airflow 3\.3\.2 has no official image for Python 3\.9; use one of 3\.10, 3\.11, 3\.12, 3\.13/);
  });

  test('fromRegistry reads the release from apache/airflow tags and refuses unsupported ones', () => {
    expect(AirflowImage.fromRegistry('apache/airflow:3.2.2').airflowVersion).toBe(AirflowVersion.V3_2_2);
    expect(AirflowImage.fromRegistry('docker.io/apache/airflow:3.1.8-python3.11').airflowVersion).toBe(AirflowVersion.V3_1_8);
    expect(() => AirflowImage.fromRegistry('apache/airflow:2.10.5')).toThrow(/AirflowVersion\.of\('2\.10\.5'\): cdk-airflow-ecs deploys Airflow 3\.1\.0 and later/);
    expect(() => AirflowImage.fromRegistry('apache/airflow:latest')).toThrow(/the tag 'latest' is not a release tag the library knows/);
    expect(() => AirflowImage.fromRegistry('apache/airflow:3.3.2', { airflowVersion: AirflowVersion.V3_1_8 })).toThrow(/the tag says Airflow 3\.3\.2 but airflowVersion is 3\.1\.8/);
  });

  test('fromRegistry needs the release of any other image', () => {
    expect(() => AirflowImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/airflow:7'))
      .toThrow(/which Airflow release does the image hold\? Pass \{ airflowVersion: AirflowVersion\.of\('<version>'\) \}/);
    expect(AirflowImage.fromRegistry('registry.example.com/airflow:7', { airflowVersion: AirflowVersion.V3_2_2 }).airflowVersion).toBe(AirflowVersion.V3_2_2);
  });

  // pitfall #7: Services not starting: wrong ECR image references
  test('fromEcrRepository needs a tag other than latest', () => {
    const stack = new Stack(new App(), 'S');
    const repo = ecr.Repository.fromRepositoryName(stack, 'Repo', 'airflow');
    expect(() => AirflowImage.fromEcrRepository(repo, 'latest', AirflowVersion.V3_3_2))
      .toThrow(/AirflowImage\.fromEcrRepository\(S\/Repo, 'latest'\): pass an immutable tag such as '3\.3\.2-acme-7' or a digest 'sha256:\.\.\.'; with 'latest' a new image changes nothing in the template/);
    expect(AirflowImage.fromEcrRepository(repo, '3.3.2-acme-7', AirflowVersion.V3_3_2).airflowVersion).toBe(AirflowVersion.V3_3_2);
  });

  test('fromAsset reads the release from the Dockerfile, or needs it', () => {
    expect(AirflowImage.fromAsset(path.join(__dirname, '..', 'fixtures', 'image')).airflowVersion.version).toBe('3.3.2');
    expect(() => AirflowImage.fromAsset(path.join(__dirname, '..', 'fixtures', 'image-no-from')))
      .toThrow(/which Airflow release is the image built on\? .*Dockerfile has no 'FROM apache\/airflow:<version>' line; pass \{ airflowVersion/);
  });
});

describe('PostgreSQL versions per Airflow release', () => {
  const deploy = (version: AirflowVersion, postgres: rds.PostgresEngineVersion) => synthError(stack => {
    const storage = new AirflowStorage(stack, 'Storage', { database: { engineVersion: postgres } });
    new AirflowOnEcs(stack, 'Airflow', { storage, image: AirflowImage.official(version) });
  });

  // pitfall #22: Database engine choice
  test('refuses PostgreSQL 13 with Airflow 3.2 and later, and 18 with Airflow 3.1', () => {
    expect(deploy(AirflowVersion.V3_3_2, rds.PostgresEngineVersion.VER_13))
      .toMatch(/\[S\/Airflow\] the database runs PostgreSQL 13, which Airflow 3\.3\.2 does not support \(it supports 14 to 18\); set AirflowStorage database\.engineVersion to rds\.PostgresEngineVersion\.VER_14/);
    expect(deploy(AirflowVersion.V3_1_8, rds.PostgresEngineVersion.VER_18)).toMatch(/PostgreSQL 18, which Airflow 3\.1\.8 does not support \(it supports 13 to 17\)/);
  });

  test('accepts the default PostgreSQL 17 with every supported release', () => {
    for (const v of AirflowVersion.tested()) expect(deploy(v, rds.PostgresEngineVersion.VER_17)).toBe('');
  });
});

describe('releases newer than the tested ones', () => {
  test('warn at synth, naming the release whose options the configuration is checked against', () => {
    const stack = new Stack(new App(), 'S');
    new AirflowOnEcs(stack, 'Airflow', { image: AirflowImage.official(AirflowVersion.of('3.4.1')) });
    Annotations.fromStack(stack).hasWarning('/S/Airflow', Match.stringLikeRegexp('Airflow 3\\.4\\.1 is newer than the newest release cdk-airflow-ecs is tested with \\(3\\.3\\.2\\); the configuration is checked against 3\\.3\\.2\'s options'));
  });

  test('an older patch of a supported minor deploys without a warning', () => {
    const stack = new Stack(new App(), 'S');
    new AirflowOnEcs(stack, 'Airflow', { image: AirflowImage.official(AirflowVersion.of('3.1.5')) });
    Annotations.fromStack(stack).hasNoWarning('/S/Airflow', Match.stringLikeRegexp('newer than the newest release'));
  });
});

describe('WebAccess validation', () => {
  const make = (webAccess: (s: Stack) => WebAccess) => synthError(stack => new AirflowOnEcs(stack, 'Airflow', { webAccess: webAccess(stack) }));
  const cert = (s: Stack) => acm.Certificate.fromCertificateArn(s, 'C', 'arn:aws:acm:eu-west-1:123456789012:certificate/x');

  test.each<[string, (s: Stack) => WebAccess, RegExp]>([
    ['a host address without prefix', () => WebAccess.internalLoadBalancer({ allowedCidrs: ['10.0.0.1'] }), /webAccess\.allowedCidrs entry '10\.0\.0\.1' is not an IPv4 CIDR range; write it like '203\.0\.113\.0\/24'/],
    ['an out-of-range octet', s => WebAccess.publicHttps({ certificate: cert(s), allowedCidrs: ['300.1.2.3/32'] }), /'300\.1\.2\.3\/32' is not an IPv4 CIDR range/],
    ['a /33 prefix', () => WebAccess.publicHttpInsecure({ allowedCidrs: ['1.2.3.4/33'] }), /'1\.2\.3\.4\/33' is not an IPv4 CIDR range/],
    ['an empty allow-list', () => WebAccess.internalLoadBalancer({ allowedCidrs: [] }), /webAccess\.allowedCidrs is an empty list, which would let nobody in/],
    ['a URL as domain name', s => WebAccess.publicHttps({ certificate: cert(s), domainName: 'https://airflow.example.com/' }), /webAccess\.domainName \('https:\/\/airflow\.example\.com\/'\) is not a domain name; pass the bare host name/],
  ])('rejects %s', (_name, webAccess, message) => {
    expect(make(webAccess)).toMatch(message);
  });

  test('an imported VPC without its CIDR range needs allowedCidrs for an internal load balancer', () => {
    const message = synthError(stack => {
      const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-1', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['subnet-1'] });
      const storage = new AirflowStorage(stack, 'Storage', { vpc });
      new AirflowOnEcs(stack, 'Airflow', { storage });
    });
    expect(message).toMatch(/webAccess: the VPC was imported without its CIDR range.*pass vpcCidrBlock to ec2\.Vpc\.fromVpcAttributes, or list the ranges in webAccess\.allowedCidrs/);
  });

  test('rejects a bad admin user name', () => {
    expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', { adminUsername: 'bad name' }))).toMatch(/\[S\/Airflow\/Migration\] adminUsername \('bad name'\) must be 1–64 letters, digits or _ \. @ -/);
  });
});
