import { App, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import { AirflowImage, AirflowOnEcs, AirflowVersion, WebAccess } from '../../src';

describe('AirflowVersion', () => {
  test('V3_1_8 is the default and tested version', () => {
    expect(AirflowVersion.V3_1_8.version).toBe('3.1.8');
    expect(AirflowVersion.of('3.2.0').version).toBe('3.2.0');
  });

  test.each([
    ['v3.1.8', /AirflowVersion\.of\('v3\.1\.8'\): not a release version; pass MAJOR\.MINOR\.PATCH such as '3\.1\.8'/],
    ['3.1.8-python3.12', /not a release version/],
    ['3.1', /not a release version/],
    ['3.0.6', /AirflowVersion\.of\('3\.0\.6'\): cdk-airflow-ecs deploys Airflow 3\.1 and later/],
    ['2.10.5', /deploys Airflow 3\.1 and later/],
  ])('rejects %s', (version, message) => {
    expect(() => AirflowVersion.of(version)).toThrow(message);
  });
});

describe('AirflowImage', () => {
  test('rejects an empty or spaced image name', () => {
    expect(() => AirflowImage.fromRegistry('')).toThrow(/AirflowImage\.fromRegistry\(''\): not an image name; pass 'repository:tag'/);
    expect(() => AirflowImage.fromRegistry('apache/airflow 3.1.8')).toThrow(/not an image name/);
  });

  test('official() pins 3.1.8', () => {
    expect(AirflowImage.official().description).toBe('apache/airflow:3.1.8');
  });
});

describe('WebAccess validation', () => {
  const make = (webAccess: (s: Stack) => WebAccess) => {
    const stack = new Stack(new App(), 'S');
    return () => new AirflowOnEcs(stack, 'Airflow', { webAccess: webAccess(stack) });
  };
  const cert = (s: Stack) => acm.Certificate.fromCertificateArn(s, 'C', 'arn:aws:acm:eu-west-1:123456789012:certificate/x');

  test.each<[string, (s: Stack) => WebAccess, RegExp]>([
    ['a host address without prefix', () => WebAccess.internal({ allowedCidrs: ['10.0.0.1'] }), /webAccess\.allowedCidrs entry '10\.0\.0\.1' is not an IPv4 CIDR range; write it like '203\.0\.113\.0\/24'/],
    ['an out-of-range octet', s => WebAccess.publicHttps({ certificate: cert(s), allowedCidrs: ['300.1.2.3/32'] }), /'300\.1\.2\.3\/32' is not an IPv4 CIDR range/],
    ['a /33 prefix', () => WebAccess.publicHttpInsecure({ allowedCidrs: ['1.2.3.4/33'] }), /'1\.2\.3\.4\/33' is not an IPv4 CIDR range/],
    ['an empty allow-list', () => WebAccess.internal({ allowedCidrs: [] }), /webAccess\.allowedCidrs is an empty list, which would let nobody in/],
    ['a URL as domain name', s => WebAccess.publicHttps({ certificate: cert(s), domainName: 'https://airflow.example.com/' }), /webAccess\.domainName \('https:\/\/airflow\.example\.com\/'\) is not a domain name; pass the bare host name/],
  ])('rejects %s', (_name, webAccess, message) => {
    expect(make(webAccess)).toThrow(message);
  });

  test('rejects a bad admin user name', () => {
    const stack = new Stack(new App(), 'S');
    expect(() => new AirflowOnEcs(stack, 'Airflow', { adminUsername: 'bad name' })).toThrow(/adminUsername \('bad name'\) must be 1–64 letters, digits or _ \. @ -/);
  });
});
