import { Annotations, Token } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { acknowledgeNag, NAG } from '../private/nag';
import { Problems } from '../private/validation';

/**
 * Options of an internal (VPC-only) load balancer.
 */
export interface InternalWebAccessOptions {
  /**
   * A certificate for HTTPS on port 443. Without one, the internal load balancer serves plain
   * HTTP on port 80 inside the VPC.
   *
   * @default - plain HTTP on port 80
   */
  readonly certificate?: acm.ICertificate;

  /**
   * The domain name users reach Airflow at (you point it at the load balancer), used for
   * `[api] base_url`.
   *
   * @default - the load balancer's DNS name
   */
  readonly domainName?: string;

  /**
   * IPv4 CIDR ranges allowed to reach the load balancer.
   *
   * @default - the VPC's CIDR range
   */
  readonly allowedCidrs?: string[];
}

/**
 * Options of an internet-facing HTTPS load balancer.
 */
export interface PublicHttpsWebAccessOptions {
  /**
   * The certificate for HTTPS on port 443 (from ACM, for `domainName`).
   *
   * @default - with `hostedZone`: a new ACM certificate for `domainName`, validated through DNS
   * records in the zone; without: required
   */
  readonly certificate?: acm.ICertificate;

  /**
   * The domain name users reach Airflow at, used for `[api] base_url`. With `hostedZone` the
   * library creates its alias record; without, you point it at the load balancer.
   *
   * @default - the load balancer's DNS name (browsers will warn: the certificate does not match it); required with `hostedZone`
   */
  readonly domainName?: string;

  /**
   * The Route 53 public hosted zone that holds `domainName`: the library creates the alias record
   * pointing `domainName` at the load balancer and, without `certificate`, validates the new
   * certificate through it.
   *
   * @default - no DNS record: point `domainName` at the load balancer yourself
   */
  readonly hostedZone?: route53.IHostedZone;

  /**
   * IPv4 CIDR ranges allowed to reach the load balancer, for example your office or VPN.
   *
   * @default - anywhere (0.0.0.0/0); Airflow's login still protects it
   */
  readonly allowedCidrs?: string[];
}

/**
 * Options of an internet-facing plain-HTTP load balancer.
 */
export interface PublicHttpWebAccessOptions {
  /**
   * IPv4 CIDR ranges allowed to reach the load balancer.
   *
   * @default - anywhere (0.0.0.0/0)
   */
  readonly allowedCidrs?: string[];
}

/**
 * What the load balancer needs to know of the deployment.
 */
export interface WebAccessBindOptions {
  /** The VPC of the load balancer and the api-server. */
  readonly vpc: ec2.IVpc;
}

/**
 * The load balancer in front of the api-server, made by `WebAccess.bind()`.
 */
export interface WebAccessConfig {
  /** The Application Load Balancer. */
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The listener the api-server's target group is added to. */
  readonly listener: elbv2.ApplicationListener;
  /** The URL users reach Airflow at (`[api] base_url`). */
  readonly url: string;
}

const IPV4_CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/**
 * How users reach the Airflow UI and API: an Application Load Balancer in front of the
 * api-server only.
 */
export abstract class WebAccess {
  /**
   * An internal load balancer, reachable only from inside the VPC (or the given CIDR ranges,
   * through VPN or Direct Connect). HTTPS when a certificate is given, else HTTP.
   */
  public static internalLoadBalancer(options: InternalWebAccessOptions = {}): WebAccess {
    return new LoadBalancedWebAccess({ internetFacing: false, ...options });
  }

  /**
   * An internet-facing load balancer serving HTTPS, optionally limited to some CIDR ranges; HTTP on
   * port 80 redirects to HTTPS. With `hostedZone` and `domainName`, the library creates the alias
   * record and, unless you pass `certificate`, a DNS-validated ACM certificate.
   */
  public static publicHttps(options: PublicHttpsWebAccessOptions): WebAccess {
    return new LoadBalancedWebAccess({ internetFacing: true, httpsRequested: true, ...options });
  }

  /**
   * An internet-facing load balancer serving plain HTTP: passwords and session cookies cross the
   * internet unencrypted. For short evaluations only; synth warns about it.
   */
  public static publicHttpInsecure(options: PublicHttpWebAccessOptions = {}): WebAccess {
    return new LoadBalancedWebAccess({ internetFacing: true, ...options });
  }

  /**
   * Creates the load balancer, its security group and its listener.
   *
   * @param scope the construct the load balancer belongs to
   * @param options the deployment's VPC
   */
  public abstract bind(scope: Construct, options: WebAccessBindOptions): WebAccessConfig;
}

interface LoadBalancedOptions extends InternalWebAccessOptions {
  readonly internetFacing: boolean;
  /** HTTPS was asked for (`publicHttps`), with a certificate given or to create. */
  readonly httpsRequested?: boolean;
  readonly hostedZone?: route53.IHostedZone;
}

class LoadBalancedWebAccess extends WebAccess {
  constructor(private readonly options: LoadBalancedOptions) {
    super();
  }

  public bind(scope: Construct, { vpc }: WebAccessBindOptions): WebAccessConfig {
    const { internetFacing, domainName, allowedCidrs, hostedZone, httpsRequested } = this.options;
    const problems = new Problems(scope);
    checkDns(problems, this.options);
    const certificate = this.options.certificate
      ?? (httpsRequested && hostedZone && domainName !== undefined
        ? new acm.Certificate(scope, 'Certificate', { domainName, validation: acm.CertificateValidation.fromDns(hostedZone) })
        : undefined);
    for (const cidr of allowedCidrs ?? []) {
      if (!Token.isUnresolved(cidr) && !IPV4_CIDR.test(cidr)) {
        problems.add(`webAccess.allowedCidrs entry '${cidr}' is not an IPv4 CIDR range; write it like '203.0.113.0/24' (a single address is '203.0.113.7/32')`);
      }
    }
    if (allowedCidrs !== undefined && allowedCidrs.length === 0) {
      problems.add('webAccess.allowedCidrs is an empty list, which would let nobody in; omit it for the default, or list the ranges that may reach Airflow');
    }
    if (domainName !== undefined && !Token.isUnresolved(domainName) && !DOMAIN.test(domainName)) {
      problems.add(`webAccess.domainName ('${domainName}') is not a domain name; pass the bare host name such as 'airflow.example.com' (no scheme, no path)`);
    }
    const https = certificate !== undefined;
    const securityGroup = new ec2.SecurityGroup(scope, 'LoadBalancerSecurityGroup', {
      vpc,
      description: `Airflow load balancer (${internetFacing ? 'internet-facing' : 'internal'}, ${https ? 'HTTPS' : 'HTTP'})`,
      allowAllOutbound: false,
    });
    const loadBalancer = new elbv2.ApplicationLoadBalancer(scope, 'LoadBalancer', {
      vpc,
      internetFacing,
      vpcSubnets: { subnetType: internetFacing ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup,
      dropInvalidHeaderFields: true,
    });
    const port = https ? 443 : 80;
    const listener = loadBalancer.addListener('Listener', {
      port,
      protocol: https ? elbv2.ApplicationProtocol.HTTPS : elbv2.ApplicationProtocol.HTTP,
      certificates: https ? [certificate] : undefined,
      sslPolicy: https ? elbv2.SslPolicy.RECOMMENDED_TLS : undefined,
      open: false,
    });
    // Invalid entries are reported above; CDK's Peer.ipv4 would throw before they are.
    const validCidrs = allowedCidrs?.filter(c => Token.isUnresolved(c) || IPV4_CIDR.test(c));
    const peers = validCidrs?.map(c => ec2.Peer.ipv4(c)) ?? (internetFacing ? [ec2.Peer.anyIpv4()] : vpcPeer(vpc, problems));
    // public HTTPS: plain HTTP answers with a redirect, so that typed-in http:// addresses work
    const redirect = internetFacing && https;
    if (redirect) loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443, open: false });
    for (const peer of peers) {
      securityGroup.addIngressRule(peer, ec2.Port.tcp(port), `Airflow UI and API from ${peer.uniqueId}`);
      if (redirect) securityGroup.addIngressRule(peer, ec2.Port.tcp(80), `Redirect to HTTPS from ${peer.uniqueId}`);
    }
    if (hostedZone && domainName !== undefined && zoneNameOf(hostedZone) !== undefined) {
      new route53.ARecord(scope, 'DnsRecord', {
        zone: hostedZone,
        recordName: domainName,
        target: route53.RecordTarget.fromAlias(new route53Targets.LoadBalancerTarget(loadBalancer)),
      });
    }
    acknowledgeNag(loadBalancer, [NAG.loadBalancerAccessLogs]);
    if (allowedCidrs === undefined) {
      if (!internetFacing) acknowledgeNag(securityGroup, [NAG.vpcCidrIngress]);
      else if (https) acknowledgeNag(securityGroup, [NAG.publicLoadBalancer]);
    }
    if (internetFacing && !https) {
      Annotations.of(scope).addWarningV2('cdk-airflow-ecs:AirflowOnEcs.publicHttp',
        'webAccess is WebAccess.publicHttpInsecure(): the Airflow login and session cookies cross the internet unencrypted; use WebAccess.publicHttps({ certificate }) or WebAccess.internalLoadBalancer() for anything but a short evaluation');
    }
    return { loadBalancer, listener, url: `${https ? 'https' : 'http'}://${domainName ?? loadBalancer.loadBalancerDnsName}` };
  }
}

/** The VPC's own range, which an internal load balancer admits by default. */
function vpcPeer(vpc: ec2.IVpc, problems: Problems): ec2.IPeer[] {
  let cidr: string;
  try {
    cidr = vpc.vpcCidrBlock;
  } catch {
    // ec2.Vpc.fromVpcAttributes without vpcCidrBlock throws on access
    problems.add('webAccess: the VPC was imported without its CIDR range, which an internal load balancer admits by default; pass vpcCidrBlock to ec2.Vpc.fromVpcAttributes, or list the ranges in webAccess.allowedCidrs');
    return [];
  }
  return [ec2.Peer.ipv4(cidr)];
}

/** What `publicHttps` needs for DNS and its certificate, and a zone that holds the domain. */
function checkDns(problems: Problems, options: LoadBalancedOptions): void {
  const { httpsRequested, certificate, hostedZone, domainName } = options;
  if (httpsRequested && certificate === undefined && hostedZone === undefined) {
    problems.add('webAccess: WebAccess.publicHttps() needs a certificate; pass certificate (an ACM certificate for domainName), '
      + 'or hostedZone and domainName for a DNS-validated one the library creates');
  }
  if (hostedZone !== undefined && domainName === undefined) {
    problems.add(`webAccess.hostedZone (${hostedZone.node.path}) is given without domainName; pass the name users reach Airflow at, such as 'airflow.<your zone>'`);
    return;
  }
  if (hostedZone === undefined || domainName === undefined || Token.isUnresolved(domainName)) return;
  const zoneName = zoneNameOf(hostedZone);
  if (zoneName === undefined) {
    problems.add(`webAccess.hostedZone (${hostedZone.node.path}) was imported without its zone name, which the alias record needs; `
      + 'import it with route53.HostedZone.fromHostedZoneAttributes({ hostedZoneId, zoneName }) or fromLookup');
    return;
  }
  if (Token.isUnresolved(zoneName)) return;
  const zone = zoneName.replace(/\.$/, '').toLowerCase();
  const name = domainName.replace(/\.$/, '').toLowerCase();
  if (name !== zone && !name.endsWith(`.${zone}`)) {
    problems.add(`webAccess.domainName ('${domainName}') is not in webAccess.hostedZone ('${zoneName}'): Route 53 would reject the record and the certificate `
      + `could not be validated; pass a name ending in '.${zone}', or the hosted zone of ${domainName}`);
  }
}

/** A hosted zone's name, or undefined for a zone imported by id alone (whose zoneName throws). */
function zoneNameOf(zone: route53.IHostedZone): string | undefined {
  try {
    return zone.zoneName;
  } catch {
    return undefined;
  }
}
