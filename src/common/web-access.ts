import * as acm from 'aws-cdk-lib/aws-certificatemanager';

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
  /** The certificate for HTTPS on port 443 (from ACM, for `domainName`). */
  readonly certificate: acm.ICertificate;

  /**
   * The domain name users reach Airflow at (you point it at the load balancer), used for
   * `[api] base_url`.
   *
   * @default - the load balancer's DNS name (browsers will warn: the certificate does not match it)
   */
  readonly domainName?: string;

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
 * How users reach the Airflow UI and API: an Application Load Balancer in front of the
 * api-server only.
 */
export class WebAccess {
  /**
   * An internal load balancer, reachable only from inside the VPC (or the given CIDR ranges,
   * through VPN or Direct Connect). HTTPS when a certificate is given, else HTTP.
   */
  public static internal(options: InternalWebAccessOptions = {}): WebAccess {
    return new WebAccess(false, options.certificate, options.domainName, options.allowedCidrs, 'internal');
  }

  /**
   * An internet-facing load balancer serving HTTPS with your certificate, optionally limited to
   * some CIDR ranges.
   */
  public static publicHttps(options: PublicHttpsWebAccessOptions): WebAccess {
    return new WebAccess(true, options.certificate, options.domainName, options.allowedCidrs, 'publicHttps');
  }

  /**
   * An internet-facing load balancer serving plain HTTP: passwords and session cookies cross the
   * internet unencrypted. For short evaluations only; synth warns about it.
   */
  public static publicHttpInsecure(options: PublicHttpWebAccessOptions = {}): WebAccess {
    return new WebAccess(true, undefined, undefined, options.allowedCidrs, 'publicHttpInsecure');
  }

  /** Whether the load balancer is reachable from the internet. */
  public readonly internetFacing: boolean;
  /** The HTTPS certificate, if any. */
  public readonly certificate?: acm.ICertificate;
  /** The domain name for `[api] base_url`, if any. */
  public readonly domainName?: string;
  /** The CIDR ranges allowed in, if limited. */
  public readonly allowedCidrs?: string[];
  /** The factory that made this choice, for messages. */
  public readonly mode: string;

  private constructor(
    internetFacing: boolean,
    certificate: acm.ICertificate | undefined,
    domainName: string | undefined,
    allowedCidrs: string[] | undefined,
    mode: string,
  ) {
    this.internetFacing = internetFacing;
    this.certificate = certificate;
    this.domainName = domainName;
    this.allowedCidrs = allowedCidrs;
    this.mode = mode;
  }
}
