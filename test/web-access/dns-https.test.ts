/**
 * WebAccess.publicHttps with DNS: the alias record, a DNS-validated certificate when none is given,
 * HTTP redirected to HTTPS, and zones that cannot hold the domain refused at synth.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { AirflowOnEcs, WebAccess } from '../../src';
import { envOf, synthError, taskDefinitions } from '../util';

function deploy(webAccess: (stack: Stack) => WebAccess): Template {
  const stack = new Stack(new App(), 'S');
  new AirflowOnEcs(stack, 'Airflow', { webAccess: webAccess(stack) });
  return Template.fromStack(stack);
}

const zone = (s: Stack) => route53.HostedZone.fromHostedZoneAttributes(s, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' });

describe('WebAccess.publicHttps with a hosted zone', () => {
  const template = deploy(s => WebAccess.publicHttps({ hostedZone: zone(s), domainName: 'airflow.example.com' }));

  test('creates a DNS-validated certificate for the domain and serves HTTPS with it', () => {
    template.resourceCountIs('AWS::CertificateManager::Certificate', 1);
    template.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'airflow.example.com',
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: 'airflow.example.com', HostedZoneId: 'Z0123456789ABCDEFGHIJ' }],
    });
    const [certId] = Object.keys(template.findResources('AWS::CertificateManager::Certificate'));
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS', Certificates: [{ CertificateArn: { Ref: certId } }] });
  });

  test('points the domain at the load balancer with an alias record', () => {
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'airflow.example.com.',
      Type: 'A',
      HostedZoneId: 'Z0123456789ABCDEFGHIJ',
      AliasTarget: { DNSName: Match.objectLike({ 'Fn::Join': Match.anyValue() }), HostedZoneId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AirflowLoadBalancer'), 'CanonicalHostedZoneID'] } },
    });
  });

  test('redirects HTTP on port 80 to HTTPS, and lets the same sources reach both ports', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'redirect', RedirectConfig: { Port: '443', Protocol: 'HTTPS', StatusCode: 'HTTP_301' } }],
    });
    const lbSg = Object.values<any>(template.findResources('AWS::EC2::SecurityGroup')).find(sg => /load balancer/.test(sg.Properties.GroupDescription))!;
    expect(lbSg.Properties.SecurityGroupIngress.map((r: any) => [r.CidrIp, r.FromPort])).toEqual([['0.0.0.0/0', 443], ['0.0.0.0/0', 80]]);
  });

  test('sets [api] base_url to https://<domain>', () => {
    const api = taskDefinitions(template)['api-server'].containers[0];
    expect(envOf(api).AIRFLOW__API__BASE_URL).toBe('https://airflow.example.com');
  });
});

describe('WebAccess DNS and HTTPS', () => {
  test('with a certificate of yours and a zone: the record, no new certificate, and the redirect', () => {
    const template = deploy(s => WebAccess.publicHttps({
      certificate: acm.Certificate.fromCertificateArn(s, 'C', 'arn:aws:acm:us-east-1:123456789012:certificate/x'),
      hostedZone: zone(s),
      domainName: 'example.com',
      allowedCidrs: ['203.0.113.0/24'],
    }));
    template.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    template.resourceCountIs('AWS::Route53::RecordSet', 1);
    const lbSg = Object.values<any>(template.findResources('AWS::EC2::SecurityGroup')).find(sg => /load balancer/.test(sg.Properties.GroupDescription))!;
    expect(lbSg.Properties.SecurityGroupIngress.map((r: any) => [r.CidrIp, r.FromPort])).toEqual([['203.0.113.0/24', 443], ['203.0.113.0/24', 80]]);
  });

  test('an internal load balancer does not get a redirect listener', () => {
    const template = deploy(s => WebAccess.internalLoadBalancer({ certificate: acm.Certificate.fromCertificateArn(s, 'C', 'arn:aws:acm:us-east-1:123456789012:certificate/x') }));
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
  });

  const make = (webAccess: (s: Stack) => WebAccess) => synthError(stack => new AirflowOnEcs(stack, 'Airflow', { webAccess: webAccess(stack) }));
  test.each<[string, (s: Stack) => WebAccess, RegExp]>([
    ['a domain outside the zone', s => WebAccess.publicHttps({ hostedZone: zone(s), domainName: 'airflow.example.org' }),
      /webAccess\.domainName \('airflow\.example\.org'\) is not in webAccess\.hostedZone \('example\.com'\): .*pass a name ending in '\.example\.com'/],
    ['a domain that only ends like the zone', s => WebAccess.publicHttps({ hostedZone: zone(s), domainName: 'airflow.notexample.com' }),
      /webAccess\.domainName \('airflow\.notexample\.com'\) is not in webAccess\.hostedZone/],
    ['a zone without a domain name', s => WebAccess.publicHttps({ hostedZone: zone(s) }), /webAccess\.hostedZone \(S\/Zone\) is given without domainName/],
    ['neither a certificate nor a zone', () => WebAccess.publicHttps({ domainName: 'airflow.example.com' }),
      /WebAccess\.publicHttps\(\) needs a certificate; pass certificate .*or hostedZone and domainName/],
  ])('refuses %s', (_name, webAccess, message) => {
    expect(make(webAccess)).toMatch(message);
  });

  test('a zone imported by id alone: our error, not aws-cdk-lib\'s', () => {
    const message = make(s => WebAccess.publicHttps({ hostedZone: route53.HostedZone.fromHostedZoneId(s, 'Z', 'Z0123456789ABCDEFGHIJ'), domainName: 'airflow.example.com' }));
    expect(message).toMatch(/webAccess\.hostedZone \(S\/Z\) was imported without its zone name, which the alias record needs; import it with route53\.HostedZone\.fromHostedZoneAttributes/);
  });
});
