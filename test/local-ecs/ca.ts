/**
 * A certificate authority for one run: it signs the stand-ins' server certificates (the database,
 * the broker, the load balancer) for the host names the template gives them, and the "images"
 * trust it the way the real images trust Amazon's public CAs.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export class CertificateAuthority {
  public readonly certFile: string;
  private readonly keyFile: string;
  private serial = 1;

  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.certFile = path.join(dir, 'ca.crt');
    this.keyFile = path.join(dir, 'ca.key');
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', this.keyFile, '-out', this.certFile,
      '-days', '2', '-subj', '/CN=cdk-airflow-ecs local ECS runtime CA');
  }

  /** A key and certificate for the given DNS names and addresses, signed by this CA. */
  public issue(name: string, dnsNames: string[], ips: string[] = []): { cert: string; key: string } {
    const key = path.join(this.dir, `${name}.key`);
    const csr = path.join(this.dir, `${name}.csr`);
    const cert = path.join(this.dir, `${name}.crt`);
    const ext = path.join(this.dir, `${name}.ext`);
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name.slice(0, 60)}`);
    fs.writeFileSync(ext, `subjectAltName=${[...dnsNames.map(d => `DNS:${d}`), ...ips.map(i => `IP:${i}`)].join(',')}\nextendedKeyUsage=serverAuth\n`);
    openssl('x509', '-req', '-in', csr, '-CA', this.certFile, '-CAkey', this.keyFile, '-set_serial', `${this.serial++}`,
      '-out', cert, '-days', '2', '-extfile', ext);
    fs.chmodSync(key, 0o644);
    return { cert, key };
  }

  /** The system's CA bundle with this CA appended. */
  public bundle(): string {
    const system = fs.existsSync('/etc/ssl/certs/ca-certificates.crt') ? fs.readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8') : '';
    return `${system}\n${fs.readFileSync(this.certFile, 'utf8')}`;
  }
}

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}
