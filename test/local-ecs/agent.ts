/**
 * The ECS agent's endpoints a container reaches at 169.254.170.2: task role credentials
 * (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`), task metadata v4 (`ECS_CONTAINER_METADATA_URI_V4`)
 * and task scale-in protection (`$ECS_AGENT_URI/task-protection/v1/state`, with the documented
 * request and response shapes). Every protection call is recorded for the scenarios.
 */
import * as crypto from 'crypto';
import * as http from 'http';
import { AGENT_IP } from './network';

export interface AgentTask {
  readonly arn: string;
  readonly clusterArn: string;
  readonly family: string;
  readonly ip: string;
  readonly roleArn?: string;
  readonly serviceName?: string;
  readonly containers: () => { name: string; status: string; exitCode?: number; health?: string }[];
}

export interface ProtectionCall {
  readonly at: number;
  readonly taskArn: string;
  readonly method: string;
  readonly body?: any;
  readonly status: number;
}

export interface Protection {
  enabled: boolean;
  expiresAt?: number;
}

/** The ECS API actions the runtime answers (awsJson1_1, `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Action>`). */
export type EcsApi = (action: string, request: any) => { status: number; body: unknown };

export class EcsAgent {
  /** The runtime's ECS API, set by the cluster: `AWS_ENDPOINT_URL_ECS` of every container points here. */
  public ecsApi?: EcsApi;
  private server?: http.Server;
  private readonly containers = new Map<string, { task: AgentTask; name: string }>();
  private readonly credentials = new Map<string, string>();
  private readonly protection = new Map<string, Protection>();
  public readonly calls: ProtectionCall[] = [];

  public async start(port = 80): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, AGENT_IP, () => resolve());
    });
  }

  /** Registers a container; returns the environment ECS injects into it. */
  public register(task: AgentTask, containerName: string): Record<string, string> {
    const id = crypto.randomUUID().replace(/-/g, '');
    this.containers.set(id, { task, name: containerName });
    const env: Record<string, string> = {
      ECS_CONTAINER_METADATA_URI: `http://${AGENT_IP}/v3/${id}`,
      ECS_CONTAINER_METADATA_URI_V4: `http://${AGENT_IP}/v4/${id}`,
      ECS_AGENT_URI: `http://${AGENT_IP}/api/${id}`,
    };
    if (task.roleArn) {
      const credentialsId = crypto.randomUUID();
      this.credentials.set(credentialsId, task.roleArn);
      env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = `/v2/credentials/${credentialsId}`;
    }
    return env;
  }

  public unregisterTask(taskArn: string): void {
    for (const [id, c] of this.containers) if (c.task.arn === taskArn) this.containers.delete(id);
  }

  /** Whether the task is protected from scale-in now. */
  public isProtected(taskArn: string): boolean {
    const p = this.protection.get(taskArn);
    return !!p && p.enabled && (p.expiresAt === undefined || p.expiresAt > Date.now());
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = '';
    req.on('data', d => { body += d; });
    req.on('end', () => {
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      const url = req.url ?? '';
      const target = /^AmazonEC2ContainerServiceV20141113\.(\w+)$/.exec(String(req.headers['x-amz-target'] ?? ''));
      if (req.method === 'POST' && target) {
        let request: any;
        try {
          request = JSON.parse(body || '{}');
        } catch {
          return send(400, { __type: 'SerializationException', message: 'the request is not JSON' });
        }
        const answer = this.ecsApi?.(target[1], request) ?? { status: 400, body: { __type: 'InvalidAction', message: `${target[1]} is not served by the local ECS runtime` } };
        res.writeHead(answer.status, { 'Content-Type': 'application/x-amz-json-1.1' });
        return res.end(JSON.stringify(answer.body));
      }
      const cred = /^\/v2\/credentials\/([^/?]+)$/.exec(url);
      if (cred) {
        const role = this.credentials.get(cred[1]);
        if (!role) return send(400, { code: 'InvalidIdentifier', message: 'CredentialsV2Request: Credentials not found' });
        return send(200, {
          RoleArn: role,
          AccessKeyId: `ASIA${crypto.createHash('sha1').update(role).digest('hex').slice(0, 16).toUpperCase()}`,
          SecretAccessKey: 'local-ecs-secret-access-key',
          Token: 'local-ecs-session-token',
          Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
        });
      }
      const meta = /^\/v[34]\/([0-9a-f]+)(\/task)?$/.exec(url);
      if (meta) {
        const c = this.containers.get(meta[1]);
        if (!c) return send(404, 'V4 task metadata handler: unable to get task arn from request');
        const containers = c.task.containers().map(x => ({
          Name: x.name,
          DockerName: x.name,
          KnownStatus: x.status,
          ExitCode: x.exitCode,
          Health: x.health ? { status: x.health } : undefined,
          Networks: [{ NetworkMode: 'awsvpc', IPv4Addresses: [c.task.ip] }],
        }));
        if (meta[2]) {
          return send(200, {
            Cluster: c.task.clusterArn,
            TaskARN: c.task.arn,
            Family: c.task.family,
            Revision: '1',
            DesiredStatus: 'RUNNING',
            KnownStatus: 'RUNNING',
            LaunchType: 'FARGATE',
            ServiceName: c.task.serviceName,
            Containers: containers,
          });
        }
        return send(200, containers.find(x => x.Name === c.name));
      }
      const prot = /^\/api\/([0-9a-f]+)\/task-protection\/v1\/state$/.exec(url);
      if (prot) {
        const c = this.containers.get(prot[1]);
        if (!c) return send(404, { error: { Code: 'ResourceNotFoundException', Message: 'Failed to find a task for the request' } });
        const arn = c.task.arn;
        const record = (status: number, parsed?: any) => this.calls.push({ at: Date.now(), taskArn: arn, method: req.method ?? '', body: parsed, status });
        const state = () => {
          const p = this.protection.get(arn);
          const enabled = this.isProtected(arn);
          const expiration = enabled && p?.expiresAt ? new Date(p.expiresAt).toISOString() : null;
          return { protection: { ExpirationDate: expiration, ProtectionEnabled: enabled, TaskArn: arn } };
        };
        if (req.method === 'GET') {
          record(200);
          return send(200, state());
        }
        if (req.method !== 'PUT') return send(405, { error: { Arn: arn, Code: 'InvalidParameterException', Message: 'method not allowed' } });
        let parsed: any;
        try {
          parsed = JSON.parse(body);
        } catch {
          record(400);
          return send(400, { error: { Arn: arn, Code: 'InvalidParameterException', Message: 'UpdateTaskProtection: failed to decode request' } });
        }
        const unknown = Object.keys(parsed ?? {}).filter(k => k !== 'ProtectionEnabled' && k !== 'ExpiresInMinutes');
        if (unknown.length > 0 || typeof parsed !== 'object') {
          record(400, parsed);
          return send(400, { error: { Arn: arn, Code: 'InvalidParameterException', Message: 'UpdateTaskProtection: failed to decode request' } });
        }
        if (typeof parsed.ProtectionEnabled !== 'boolean') {
          record(400, parsed);
          return send(400, { error: { Arn: arn, Code: 'InvalidParameterException', Message: "Invalid request: does not contain 'ProtectionEnabled' field" } });
        }
        const minutes = parsed.ExpiresInMinutes ?? 120;
        if (parsed.ProtectionEnabled && (!Number.isInteger(minutes) || minutes < 1 || minutes > 2880)) {
          record(400, parsed);
          return send(400, { error: { Arn: arn, Code: 'InvalidParameterException', Message: 'expiresInMinutes must be between 1 and 2880' } });
        }
        const expiresAt = parsed.ProtectionEnabled ? Date.now() + minutes * 60_000 : undefined;
        this.protection.set(arn, { enabled: parsed.ProtectionEnabled, expiresAt });
        record(200, parsed);
        return send(200, state());
      }
      send(404, { message: `no such endpoint ${url}` });
    });
  }

  public stop(): void {
    // containers keep HTTP connections open (botocore's pools to the ECS API and credentials):
    // drop them with the server, or they outlive the tasks' network namespaces
    this.server?.closeAllConnections();
    this.server?.close();
  }
}
