/**
 * awsvpc networking on one machine: every task (and every managed service standing in for RDS,
 * ElastiCache and the load balancer) gets its own network namespace with one address on a bridge
 * that plays the VPC. The template's security groups are enforced in each namespace with
 * nftables, statefully, like security groups: ingress in the input hook, egress in the output
 * hook, by group membership (the addresses of the ENIs in a group) or CIDR.
 */
import { execFileSync, spawnSync } from 'child_process';
import { Deployment, ResourceRef } from './assembly';

export interface SecurityGroupRule {
  /** 'tcp', 'udp', 'icmp' or '-1' (all). */
  readonly protocol: string;
  readonly fromPort?: number;
  readonly toPort?: number;
  /** A peer group id ... */
  readonly group?: string;
  /** ... or a CIDR range. */
  readonly cidr?: string;
  readonly description?: string;
}

export interface SecurityGroup {
  readonly id: string;
  readonly description: string;
  readonly ingress: SecurityGroupRule[];
  readonly egress: SecurityGroupRule[];
}

/** Every security group of the assembly with its rules, inline and separate, resolved. */
export function securityGroups(d: Deployment): Map<string, SecurityGroup> {
  const out = new Map<string, SecurityGroup>();
  const rule = (ref: ResourceRef, p: any, direction: 'in' | 'out'): SecurityGroupRule => {
    const r = d.resolve(ref.stack, p);
    return {
      protocol: String(r.IpProtocol),
      fromPort: r.FromPort === undefined ? undefined : Number(r.FromPort),
      toPort: r.ToPort === undefined ? undefined : Number(r.ToPort),
      group: direction === 'in' ? r.SourceSecurityGroupId : r.DestinationSecurityGroupId,
      cidr: r.CidrIp ?? (r.CidrIpv6 ? undefined : undefined),
      description: r.Description,
    };
  };
  for (const ref of d.resources('AWS::EC2::SecurityGroup')) {
    const p = ref.resource.Properties ?? {};
    const id = d.ref(ref.stack, ref.logicalId);
    out.set(id, {
      id,
      description: d.resolve(ref.stack, p.GroupDescription) ?? ref.logicalId,
      ingress: (p.SecurityGroupIngress ?? []).map((x: any) => rule(ref, x, 'in')),
      // without inline egress rules, a new group allows all outbound traffic
      egress: p.SecurityGroupEgress === undefined
        ? [{ protocol: '-1', cidr: '0.0.0.0/0', description: 'default' }]
        : p.SecurityGroupEgress.map((x: any) => rule(ref, x, 'out')),
    });
  }
  for (const [type, direction] of [['AWS::EC2::SecurityGroupIngress', 'in'], ['AWS::EC2::SecurityGroupEgress', 'out']] as const) {
    for (const ref of d.resources(type)) {
      const p = d.resolve(ref.stack, ref.resource.Properties);
      const sg = out.get(p.GroupId);
      if (!sg) continue; // a group imported by id: nothing of ours is in it
      (direction === 'in' ? sg.ingress : sg.egress).push(rule(ref, ref.resource.Properties, direction));
    }
  }
  return out;
}

/** One network interface: a namespace, its address and its groups. */
export interface Endpoint {
  readonly name: string;
  readonly namespace: string;
  readonly ip: string;
  readonly securityGroups: string[];
  /** The bridge end of the interface's veth pair. */
  readonly hostSide: string;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => (a * 256) + Number(o), 0);
}
function intToIp(n: number): string {
  return [24, 16, 8, 0].map(s => Math.floor(n / 2 ** s) % 256).join('.');
}
export function parseCidr(cidr: string): { base: number; bits: number } {
  const [ip, bits] = cidr.split('/');
  const b = Number(bits);
  const size = 2 ** (32 - b);
  return { base: Math.floor(ipToInt(ip) / size) * size, bits: b };
}
export function cidrContains(cidr: string, ip: string): boolean {
  const { base, bits } = parseCidr(cidr);
  const n = ipToInt(ip);
  return n >= base && n < base + 2 ** (32 - bits);
}

function run(args: string[], input?: string): string {
  const r = spawnSync(args[0], args.slice(1), { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** The address ECS's agent endpoints (credentials, metadata, task protection) answer on. */
export const AGENT_IP = '169.254.170.2';

export class Network {
  /** Removes namespaces and the bridge of a run with this prefix. */
  public static cleanup(prefix: string): void {
    const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map(l => l.split(' ')[0]).filter(n => n.startsWith(prefix));
    for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
    // deleting a namespace removes its veth pair asynchronously: remove our ends now
    const links = spawnSync('ip', ['-br', 'link'], { encoding: 'utf8' }).stdout.split('\n').map(l => l.split(/[@\s]/)[0]).filter(n => n.startsWith(prefix));
    for (const link of links) spawnSync('ip', ['link', 'del', link]);
  }

  /** The bridge's address: the VPC router, and where the stand-ins for AWS's APIs listen. */
  public readonly hostIp: string;
  public readonly prefixLength: number;
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(
    /** Prefix of every interface and namespace name (short: names are limited to 15 characters). */
    public readonly prefix: string,
    public readonly vpcCidr: string,
    private readonly groups: Map<string, SecurityGroup>,
  ) {
    const { base, bits } = parseCidr(vpcCidr);
    this.hostIp = intToIp(base + 1);
    this.prefixLength = bits;
    this.used.add(this.hostIp);
  }

  public get bridge(): string {
    return `${this.prefix}br`;
  }

  /** Creates the bridge (after removing what an earlier, interrupted run left behind). */
  public create(): void {
    Network.cleanup(this.prefix);
    run(['ip', 'link', 'add', this.bridge, 'type', 'bridge']);
    run(['ip', 'addr', 'add', `${this.hostIp}/${this.prefixLength}`, 'dev', this.bridge]);
    run(['ip', 'addr', 'add', `${AGENT_IP}/32`, 'dev', this.bridge]);
    run(['ip', 'link', 'set', this.bridge, 'up']);
  }

  /** A free address in one of the subnets (AWS reserves the first four and the last of each). */
  public allocate(subnetCidrs: string[]): string {
    const candidates = subnetCidrs.filter(c => cidrContains(this.vpcCidr, c.split('/')[0]));
    if (candidates.length === 0) throw new Error(`subnets ${subnetCidrs.join(', ')} are outside the VPC ${this.vpcCidr}`);
    for (let attempt = 0; attempt < candidates.length; attempt++) {
      const cidr = candidates[(this.counter + attempt) % candidates.length];
      const { base, bits } = parseCidr(cidr);
      for (let n = base + 4; n < base + 2 ** (32 - bits) - 1; n++) {
        const ip = intToIp(n);
        if (!this.used.has(ip)) {
          this.used.add(ip);
          this.counter++;
          return ip;
        }
      }
    }
    throw new Error(`no free address left in ${subnetCidrs.join(', ')}`);
  }

  /** A new namespace with one interface on the bridge, in the given security groups. */
  public addEndpoint(name: string, ip: string, groupIds: string[]): Endpoint {
    const index = ++this.counter;
    const namespace = `${this.prefix}${name}`.slice(0, 40);
    const hostSide = `${this.prefix}v${index}`;
    run(['ip', 'netns', 'add', namespace]);
    run(['ip', 'link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace]);
    run(['ip', 'link', 'set', hostSide, 'master', this.bridge, 'up']);
    run(['ip', '-n', namespace, 'addr', 'add', `${ip}/${this.prefixLength}`, 'dev', 'eth0']);
    run(['ip', '-n', namespace, 'link', 'set', 'eth0', 'up']);
    run(['ip', '-n', namespace, 'link', 'set', 'lo', 'up']);
    run(['ip', '-n', namespace, 'route', 'add', 'default', 'via', this.hostIp]);
    const endpoint: Endpoint = { name, namespace, ip, securityGroups: groupIds, hostSide };
    this.endpoints.set(name, endpoint);
    this.used.add(ip);
    this.applyFirewalls();
    return endpoint;
  }

  public removeEndpoint(name: string): void {
    const e = this.endpoints.get(name);
    if (!e) return;
    this.endpoints.delete(name);
    spawnSync('ip', ['link', 'del', e.hostSide]);
    spawnSync('ip', ['netns', 'del', e.namespace]);
    this.used.delete(e.ip);
    this.applyFirewalls();
  }

  public endpoint(name: string): Endpoint | undefined {
    return this.endpoints.get(name);
  }

  /** Addresses of the interfaces in a security group. */
  public members(groupId: string): string[] {
    return [...this.endpoints.values()].filter(e => e.securityGroups.includes(groupId)).map(e => e.ip);
  }

  /** The nftables ruleset of one interface, from its groups' rules and the current members of peer groups. */
  public ruleset(e: Endpoint): string {
    const lines: string[] = [];
    const accept = (direction: 'saddr' | 'daddr', r: SecurityGroupRule): string | undefined => {
      let peer = '';
      if (r.group) {
        const ips = this.members(r.group);
        if (ips.length === 0) return undefined;
        peer = `ip ${direction} { ${ips.join(', ')} } `;
      } else if (r.cidr && r.cidr !== '0.0.0.0/0') {
        peer = `ip ${direction} ${r.cidr} `;
      } else if (!r.cidr) {
        return undefined;
      }
      const proto = r.protocol === '-1' || r.protocol === 'all' ? '' : r.protocol === '6' ? 'tcp' : r.protocol === '17' ? 'udp' : r.protocol;
      if (proto === '') return `${peer}accept`;
      if (proto === 'tcp' || proto === 'udp') {
        const from = r.fromPort ?? 0;
        const to = r.toPort ?? 65535;
        const ports = from === to ? `${from}` : `${from}-${to}`;
        return `${peer}meta l4proto ${proto} th dport ${ports} accept`;
      }
      if (proto === 'icmp' || proto === '1') return `${peer}meta l4proto icmp accept`;
      return undefined;
    };
    const groups = e.securityGroups.map(id => this.groups.get(id)).filter((g): g is SecurityGroup => g !== undefined);
    lines.push('table inet secgroups {');
    lines.push('  chain input {');
    lines.push('    type filter hook input priority 0; policy drop;');
    lines.push('    ct state established,related accept');
    lines.push('    iif lo accept');
    for (const g of groups) for (const r of g.ingress) { const a = accept('saddr', r); if (a) lines.push(`    ${a}`); }
    lines.push('  }');
    lines.push('  chain output {');
    lines.push('    type filter hook output priority 0; policy drop;');
    lines.push('    ct state established,related accept');
    lines.push('    oif lo accept');
    // the ECS agent's endpoints (credentials, metadata, task protection) are not behind security groups
    lines.push(`    ip daddr ${AGENT_IP} accept`);
    for (const g of groups) for (const r of g.egress) { const a = accept('daddr', r); if (a) lines.push(`    ${a}`); }
    lines.push('  }');
    lines.push('}');
    return lines.join('\n') + '\n';
  }

  /** Loads every interface's ruleset again (group membership changed). */
  public applyFirewalls(): void {
    for (const e of this.endpoints.values()) {
      const rules = `flush ruleset\n${this.ruleset(e)}`;
      run(['ip', 'netns', 'exec', e.namespace, 'nft', '-f', '-'], rules);
    }
  }

  /** Tries a TCP connection from one interface's namespace. */
  public canConnect(from: Endpoint, ip: string, port: number, timeoutSeconds = 3): boolean {
    const r = spawnSync('ip', ['netns', 'exec', from.namespace, '/usr/bin/python3', '-c',
      'import socket,sys;s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=float(sys.argv[3]));s.close()',
      ip, `${port}`, `${timeoutSeconds}`], { encoding: 'utf8', timeout: (timeoutSeconds + 5) * 1000 });
    return r.status === 0;
  }

  public destroy(): void {
    for (const name of [...this.endpoints.keys()]) {
      const e = this.endpoints.get(name)!;
      spawnSync('ip', ['link', 'del', e.hostSide]);
      spawnSync('ip', ['netns', 'del', e.namespace]);
    }
    this.endpoints.clear();
    spawnSync('ip', ['link', 'del', this.bridge]);
  }
}

/** Runs a command inside a namespace and returns its output. */
export function inNamespace(namespace: string, args: string[], options: { input?: string; timeoutMs?: number } = {}): string {
  return execFileSync('ip', ['netns', 'exec', namespace, ...args], { input: options.input, encoding: 'utf8', timeout: options.timeoutMs });
}
