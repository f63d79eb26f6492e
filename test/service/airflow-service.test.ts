import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AirflowComponent, AirflowOnEcs, AirflowOnEcsProps, AirflowService, AirflowServiceProps, AirflowStorage, DagSource } from '../../src';
import { envOf, synthError, taskDefinitions } from '../util';

function alone(props: Partial<AirflowServiceProps> & { component: AirflowComponent }): { stack: Stack; service: AirflowService; template: Template } {
  const stack = new Stack(new App(), 'S');
  const storage = new AirflowStorage(stack, 'Storage');
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: storage.vpc });
  const executionApiServerUrl = props.component === AirflowComponent.CELERY_WORKER ? 'http://api.internal.example:8080/execution/' : undefined;
  const service = new AirflowService(stack, 'Component', { cluster, storage, executionApiServerUrl, ...props });
  return { stack, service, template: Template.fromStack(stack) };
}

describe('AirflowService used alone', () => {
  test('runs one component on a cluster of your own, with the shared configuration', () => {
    const { template, service } = alone({ component: AirflowComponent.SCHEDULER });
    template.resourceCountIs('AWS::ECS::Service', 1);
    const td = taskDefinitions(template).scheduler;
    const env = envOf(td.containers.find(c => c.Name === 'scheduler')!);
    expect(env.AIRFLOW__CORE__EXECUTOR).toBe('CeleryExecutor');
    expect(env.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD).toMatch(/^python3 -c /);
    // without a Cloud Map namespace there is no Service Connect name to use
    expect(env.AIRFLOW__CORE__EXECUTION_API_SERVER_URL).toBe('http://localhost:8080/execution/');
    template.hasResourceProperties('AWS::ECS::Service', { ServiceConnectConfiguration: Match.absent() });
    expect(service.component).toBe(AirflowComponent.SCHEDULER);
  });

  test('worker: warm shutdown settings and the 120 s stop timeout', () => {
    const { template } = alone({ component: AirflowComponent.CELERY_WORKER });
    const worker = taskDefinitions(template)['celery-worker'].containers.find(c => c.Name === 'celery-worker')!;
    expect(worker.StopTimeout).toBe(120);
    expect(envOf(worker).DUMB_INIT_SETSID).toBe('0');
    expect(worker.PortMappings).toEqual([expect.objectContaining({ ContainerPort: 8793 })]);
  });

  test('waitForMigrations: false leaves out the init container', () => {
    const { template } = alone({ component: AirflowComponent.TRIGGERER, waitForMigrations: false });
    const td = taskDefinitions(template).triggerer;
    expect(td.containers.map(c => c.Name)).toEqual(['triggerer']);
    expect(td.containers[0].DependsOn).toBeUndefined();
  });

  test('the api-server can only read the log bucket; workers can write to it', () => {
    const api = alone({ component: AirflowComponent.API_SERVER }).template;
    const apiActions = JSON.stringify(api.findResources('AWS::IAM::Policy'));
    expect(apiActions).toContain('s3:GetObject*');
    expect(apiActions).not.toContain('s3:PutObject');
    const worker = alone({ component: AirflowComponent.CELERY_WORKER }).template;
    expect(JSON.stringify(worker.findResources('AWS::IAM::Policy'))).toContain('s3:PutObject');
  });

  // pitfall #11: Temporary space for tasks
  test('ephemeralStorageGiB sizes the task\'s disk; without it the task gets Fargate\'s 20 GiB (story #11)', () => {
    const { template } = alone({ component: AirflowComponent.CELERY_WORKER, ephemeralStorageGiB: 100 });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { EphemeralStorage: { SizeInGiB: 100 } });
    alone({ component: AirflowComponent.SCHEDULER }).template.hasResourceProperties('AWS::ECS::TaskDefinition', { EphemeralStorage: Match.absent() });
  });

  test('healthCheckGracePeriod is applied to the api-server', () => {
    const { template } = alone({ component: AirflowComponent.API_SERVER, healthCheckGracePeriod: Duration.seconds(600) });
    template.hasResourceProperties('AWS::ECS::Service', { HealthCheckGracePeriodSeconds: 600 });
  });
});

describe('bad input is refused at synth with the prop, the value and the fix', () => {
  const l3Cases: [string, AirflowOnEcsProps, RegExp][] = [
    ['CPU that Fargate does not offer', { scheduler: { cpu: 1000 } }, /scheduler\.cpu \(1000\) is not a Fargate CPU size; use one of 256, 512, 1024, 2048, 4096, 8192, 16384/],
    ['memory too small for the CPU', { workers: { cpu: 2048, memoryLimitMiB: 2048 } }, /workers\.memoryLimitMiB \(2048\) does not fit workers\.cpu \(2048\) on Fargate; with cpu 2048 use 4096–16384 in steps of 1024 MiB, or set workers\.cpu to 256, 512 or 1024 for 2048 MiB/],
    ['memory too large for the CPU', { apiServer: { cpu: 256, memoryLimitMiB: 4096 } }, /apiServer\.memoryLimitMiB \(4096\) does not fit apiServer\.cpu \(256\).*use 512, 1024, 2048 MiB/],
    ['pitfall #42b: a 512 MiB triggerer', { triggerer: { cpu: 256, memoryLimitMiB: 512 } },
      /triggerer\.memoryLimitMiB \(512\) is too small for the triggerer: Airflow's components peaked at up to 418 MiB .*; use 1024 or more/],
    ['memory off the 4 GiB steps of 8 vCPU', { dagProcessor: { cpu: 8192, memoryLimitMiB: 17408 } }, /dagProcessor\.memoryLimitMiB \(17408\) does not fit dagProcessor\.cpu \(8192\).*16384–61440 in steps of 4096/],
    ['negative desired count', { triggerer: { desiredCount: -1 } }, /triggerer\.desiredCount \(-1\) must be a whole number >= 0/],
    ['zero worker concurrency', { workers: { concurrency: 0 } }, /workers\.concurrency \(0\) must be a whole number >= 1/],
    ['worker concurrency the memory cannot hold', { workers: { concurrency: 64 } },
      /workers\.concurrency \(64\) is too high for workers\.memoryLimitMiB \(3072\): a worker needs 512 MiB of its own, 256 MiB per running task and 256 MiB for scale-in-protection \(128\), airflow-metrics \(64\), Service Connect proxy \(64\), 17152 MiB in all; lower concurrency to 9 or raise memoryLimitMiB to 17152 or more/],
    // pitfall #45: the story's worker died at 1 GiB; 256 MiB per task alone would have let it through at concurrency 4
    ['pitfall #45: the story\'s 1 GiB worker at concurrency 4', { workers: { cpu: 512, memoryLimitMiB: 1024, concurrency: 4 } },
      /workers\.concurrency \(4\) is too high for workers\.memoryLimitMiB \(1024\): .* 1792 MiB in all; lower concurrency to 1 or raise memoryLimitMiB to 1792 or more/],
    ['task ephemeral storage Fargate does not offer', { workers: { ephemeralStorageGiB: 20 } },
      /workers\.ephemeralStorageGiB \(20\) must be a whole number from 21 to 200; omit it for Fargate's 20 GiB, or raise it to 21 or more/],
    ['task ephemeral storage above Fargate\'s 200 GiB', { scheduler: { ephemeralStorageGiB: 500 } }, /scheduler\.ephemeralStorageGiB \(500\) must be a whole number from 21 to 200/],
    ['overriding a variable no option changes', { environment: { AIRFLOW__CORE__EXECUTOR: 'LocalExecutor' } },
      /\[S\/Airflow\] environment\.AIRFLOW__CORE__EXECUTOR is set by cdk-airflow-ecs and no option changes it \(cdk-airflow-ecs runs the Celery executor\); remove it/],
    ['a component variable in the global environment', { environment: { DUMB_INIT_SETSID: '1' } }, /environment\.DUMB_INIT_SETSID is set by cdk-airflow-ecs and no option changes it/],
    ['the base URL, which webAccess sets', { apiServer: { environment: { AIRFLOW__API__BASE_URL: 'https://x' } } },
      /\[S\/Airflow\/ApiServer\] apiServer\.environment\.AIRFLOW__API__BASE_URL is set by cdk-airflow-ecs from webAccess \(its domainName\); remove it and set webAccess \(its domainName\) instead/],
    ['the DAG folder, which dags sets', { environment: { AIRFLOW__CORE__DAGS_FOLDER: '/dags' } }, /environment\.AIRFLOW__CORE__DAGS_FOLDER is set by cdk-airflow-ecs from dags; remove it and set dags instead/],
    ['a bad worker queue', { workers: { queues: ['my queue'] } }, /workers\.queues entry 'my queue' is not a Celery queue name/],
    ['no worker queues', { workers: { queues: [] } }, /workers\.queues is empty, so the workers would take no task/],
    ['a plain DB URL that would shadow the library\'s _CMD', { scheduler: { environment: { AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: 'postgresql://u:p@h/db' } } },
      /scheduler\.environment\.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is set by cdk-airflow-ecs from storage \(its database and databaseSecret\)/],
    ['a JWT secret in plain environment', { environment: { AIRFLOW__API_AUTH__JWT_SECRET: 'x' } }, /environment\.AIRFLOW__API_AUTH__JWT_SECRET is set by cdk-airflow-ecs from storage\.jwtSecret/],
  ];
  test.each(l3Cases)('%s', (_name, props, message) => {
    expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', props))).toMatch(message);
  });

  test('a props object with several mistakes gives one error listing each, with its construct', () => {
    const error = synthError(stack => new AirflowOnEcs(stack, 'Airflow', {
      scheduler: { cpu: 1000 },
      workers: { minCapacity: 5, maxCapacity: 2, queues: ['my queue'] },
      environment: { AIRFLOW__CORE__EXECUTOR: 'LocalExecutor', AIRFLOW__CORE__PARALELLISM: '8' },
      dags: DagSource.gitSync({ repository: 'github.com/acme/dags' }),
      adminUsername: 'bad name',
    }));
    const lines = error.split('\n').filter(l => l.startsWith('  ['));
    expect(error).toMatch(/^Validation failed with the following errors:/);
    for (const expected of [
      /^ {2}\[S\/Airflow\] environment\.AIRFLOW__CORE__EXECUTOR is set by cdk-airflow-ecs/,
      /^ {2}\[S\/Airflow\] environment\.AIRFLOW__CORE__PARALELLISM is not an option of Airflow 3\.3\.2.*did you mean AIRFLOW__CORE__PARALLELISM\?/,
      /^ {2}\[S\/Airflow\/Scheduler\] scheduler\.cpu \(1000\) is not a Fargate CPU size/,
      /^ {2}\[S\/Airflow\/Workers\] workers\.queues entry 'my queue' is not a Celery queue name/,
      /^ {2}\[S\/Airflow\/WorkerAutoscaling\] workers\.minCapacity \(5\) must be <= workers\.maxCapacity \(2\)/,
      /^ {2}\[S\/Airflow\/DagProcessor\] dags\.repository \('github\.com\/acme\/dags'\) is not a git URL/,
      /^ {2}\[S\/Airflow\/Migration\] adminUsername \('bad name'\) must be 1–64 letters/,
    ]) {
      expect(lines.filter(l => expected.test(l))).toHaveLength(1);
    }
    expect(lines).toHaveLength(7);
  });

  test('checks skip values that are tokens', () => {
    expect(synthError(stack => {
      const n = new CfnParameter(stack, 'N', { type: 'Number' }).valueAsNumber;
      const text = new CfnParameter(stack, 'T').valueAsString;
      new AirflowOnEcs(stack, 'Airflow', {
        adminUsername: text,
        scheduler: { cpu: n, desiredCount: n },
        workers: { queues: [text], concurrency: n, spotPercent: n, onDemandBase: n },
        environment: { AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG: text },
      });
    })).toBe('');
  });

  // pitfall #42b: Tasks too small, or invalid Fargate sizes
  test('valid Fargate pairs at the edges of each row are accepted', () => {
    const pairs: [number, number][] = [
      [256, 512], [256, 2048], [512, 1024], [512, 4096], [1024, 8192],
      [2048, 16384], [4096, 30720], [8192, 61440], [16384, 32768], [16384, 122880],
    ];
    for (const [cpu, memoryLimitMiB] of pairs) {
      const stack = new Stack(new App(), 'S');
      expect(() => new AirflowOnEcs(stack, 'Airflow', { scheduler: { cpu, memoryLimitMiB } })).not.toThrow();
    }
  });

  describe('pitfall #45: worker memory holds the worker, its running tasks, its sidecars and the Service Connect proxy', () => {
    test('the defaults (3 GiB, 8 tasks) and the story\'s fix (2 GiB) pass, with git-sync', () => {
      const dags = DagSource.gitSync({ repository: 'https://github.com/acme/dags.git' });
      expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', { dags }))).toBe('');
      // 512 + 5 x 256 + 128 (scale-in protection) + 64 (airflow-metrics) + 64 (proxy) = 2048: Amazon MWAA's mw1.small runs 5 tasks in 2 GiB
      expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', { workers: { memoryLimitMiB: 2048, concurrency: 5 } }))).toBe('');
      // git-sync's 64 MiB on top: 4 tasks
      expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', { dags, workers: { memoryLimitMiB: 2048, concurrency: 4 } }))).toBe('');
    });

    test('one more task than fits fails, and the sidecars are named', () => {
      const dags = DagSource.gitSync({ repository: 'https://github.com/acme/dags.git' });
      expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', { dags, workers: { memoryLimitMiB: 2048, concurrency: 5 } })))
        .toMatch(new RegExp('workers\\.concurrency \\(5\\) is too high for workers\\.memoryLimitMiB \\(2048\\): a worker needs 512 MiB of its own, 256 MiB per running task '
          + 'and 320 MiB for git-sync \\(64\\), scale-in-protection \\(128\\), airflow-metrics \\(64\\), Service Connect proxy \\(64\\), 2112 MiB in all; '
          + 'lower concurrency to 4 or raise memoryLimitMiB to 2112 or more'));
    });

    test('a worker pool is checked under its own name', () => {
      expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', { workerPools: { heavy: { queues: ['heavy'], memoryLimitMiB: 2048, concurrency: 8 } } })))
        .toMatch(/workerPools\.heavy\.concurrency \(8\) is too high for workerPools\.heavy\.memoryLimitMiB \(2048\)/);
    });

    test('a worker alone, without sidecars or Service Connect, needs only itself and its tasks', () => {
      // 512 + 6 x 256 = 2048
      expect(() => alone({ component: AirflowComponent.CELERY_WORKER, memoryLimitMiB: 2048, concurrency: 6 })).not.toThrow();
      expect(() => alone({ component: AirflowComponent.CELERY_WORKER, memoryLimitMiB: 2048, concurrency: 7 }))
        .toThrow(/concurrency \(7\) is too high for workers\.memoryLimitMiB \(2048\): a worker needs 512 MiB of its own, 256 MiB per running task, 2304 MiB in all; lower concurrency to 6/);
    });
  });

  test('a worker that could not find the Execution API', () => {
    expect(synthError(stack => {
      const storage = new AirflowStorage(stack, 'Storage');
      const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: storage.vpc });
      new AirflowService(stack, 'Workers', { cluster, storage, component: AirflowComponent.CELERY_WORKER });
    })).toMatch(/the service joins no Service Connect namespace, so the workers cannot find the api-server's Execution API; pass serviceConnectNamespace, .* or pass executionApiServerUrl/);
  });

  // pitfall #42: Load balancer marked starting tasks failed
  test('component-only options on the wrong component', () => {
    expect(() => alone({ component: AirflowComponent.SCHEDULER, concurrency: 4 }))
      .toThrow(/concurrency \(4\) is only for AirflowComponent\.CELERY_WORKER, not scheduler; remove it/);
    expect(() => alone({ component: AirflowComponent.TRIGGERER, healthCheckGracePeriod: Duration.minutes(5) }))
      .toThrow(/healthCheckGracePeriod is only for the load-balanced api-server, not triggerer/);
    expect(() => alone({ component: AirflowComponent.API_SERVER, healthCheckGracePeriod: Duration.seconds(60) }))
      .toThrow(/healthCheckGracePeriod \(60 s\) must be between 300 and 600 seconds/);
  });
});
