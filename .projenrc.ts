import { awscdk, javascript, release } from 'projen';

/**
 * aws-cdk-lib: the peer minimum is also the version we compile and test against, so nothing
 * newer than the minimum can sneak into the library. 2.257.0 is the newest aws-cdk-lib whose
 * cloud assembly (schema 53) @aws-cdk/integ-runner 2.197 still reads, which keeps the offline
 * integ snapshot tests working; see DEVELOPERS.md "Versions".
 */
const CDK_VERSION = '2.257.0';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-airflow-ecs',
  packageName: 'cdk-airflow-ecs',
  description: 'Production Apache Airflow 3 on Amazon ECS Fargate as one AWS CDK construct: api-server, scheduler, dag-processor, triggerer and Celery workers with RDS PostgreSQL and ElastiCache Valkey.',
  author: 'cdk-airflow-ecs maintainers',
  authorAddress: 'maintainers@cdk-airflow-ecs.dev',
  repositoryUrl: 'https://github.com/cdk-airflow-ecs/cdk-airflow-ecs.git',
  keywords: ['cdk', 'aws-cdk', 'airflow', 'apache-airflow', 'ecs', 'fargate', 'celery', 'mwaa'],
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,

  cdkVersion: CDK_VERSION,
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',
  typescriptVersion: '~6.0.3',
  minNodeVersion: '20.0.0',

  // Releases (DEVELOPERS.md "Releasing"): a maintainer starts the release workflow by hand; it
  // bumps the version from the commits since the last tag, builds, and publishes to npm, PyPI,
  // Maven Central, NuGet and the Go module repository. 0.x until the API is declared stable:
  // breaking changes bump the minor version.
  release: true,
  releaseTrigger: release.ReleaseTrigger.workflowDispatch(),
  majorVersion: 0,
  publishToPypi: {
    distName: 'cdk-airflow-ecs',
    module: 'cdk_airflow_ecs',
  },
  publishToMaven: {
    javaPackage: 'io.github.cdkairflowecs',
    mavenGroupId: 'io.github.cdk-airflow-ecs',
    mavenArtifactId: 'cdk-airflow-ecs',
  },
  publishToNuget: {
    dotNetNamespace: 'CdkAirflowEcs',
    packageId: 'CdkAirflowEcs',
  },
  publishToGo: {
    moduleName: 'github.com/cdk-airflow-ecs/cdk-airflow-ecs-go',
  },

  // Copies the upstream images (apache/airflow, git-sync) into ECR at deploy time (a prebuilt Go
  // Lambda: synth needs no Docker). A jsii library, so a peer dependency like aws-cdk-lib.
  peerDeps: ['cdk-ecr-deployment@^4.2.65'],

  devDeps: [
    // The real CDK CLI: `npm run example` synthesizes the example app with it.
    'aws-cdk@2.1148.1',
    // The CDK's own diff engine, for the upgrade tests (test/security/upgrades.test.ts)
    '@aws-cdk/cloudformation-diff@^2.187.5',
    // AWS Solutions checks (test/security/nag.test.ts). cdk-nag 3 needs aws-cdk-lib's Validations
    // API, which 2.257 does not have; cdk-nag 2 runs as an Aspect and reads the cdk_nag metadata
    // the library puts on its resources.
    'cdk-nag@^2.36.8',
    'fast-check@^4.11.0',
    // AWS Control Tower's proactive controls as cfn-guard rules (test/security/guard.test.ts)
    '@cdklabs/cdk-validator-cfnguard@^0.0.62',
    // aws-cdk-lib's built-in CloudFormation validation (2.27x), run on the templates the library
    // (built against 2.257) synthesizes: test/security/cfn-validate.test.ts
    'aws-cdk-lib-2-276@npm:aws-cdk-lib@2.276.0',
    // The local ECS runtime's UI scenario drives Debian's chromium with it (test/local-ecs)
    'playwright-core@^1.65.1',
    // Deploy-ready integ tests of the example apps (test/integ): the runner verifies their snapshots
    // offline in the suite and deploys them for maintainers with an AWS account. The newest of each
    // on the registry we reach: the runner reads cloud assembly schema 53 (aws-cdk-lib <= 2.257);
    // integ-tests-alpha has no 2.257.0-alpha.0, and 2.245.0-alpha.0's peer range takes 2.257.
    '@aws-cdk/integ-runner@2.197.10',
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
  ],

  // The example apps and scripts are type-checked and linted with the tests.
  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: {
    include: ['examples/**/*.ts', 'scripts/**/*.ts'],
    compilerOptions: {},
  },
  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'examples', 'scripts'],
    // Lint against tsconfig.dev.json, which includes test/, examples/ and scripts/.
    projectService: false,
  },

  jestOptions: {
    // Snapshots must fail when they drift; update them on purpose with `npx jest -u`.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testTimeout: 120_000,
      // Jest's default on our 2-core machines is one worker (cores - 1): the suite ran one file at a
      // time, 619 s in CI. Most of its time is synth and subprocesses (cfn-guard, cfn-lint, Python),
      // so two workers overlap them; every runtime test starts its own services on free ports.
      maxWorkers: 2,
      globalSetup: '<rootDir>/test/runtime/global-setup.ts',
      // each test file deletes the temporary cloud assemblies it synthesized (test/setup/cleanup-assemblies.ts)
      setupFilesAfterEnv: ['<rootDir>/test/setup/cleanup-assemblies.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/cdk.out/'],
      coverageReporters: ['text-summary', 'lcov'],
    },
  },

  gitignore: ['cdk.out/', '*.d.ts.map', '.test-services/', 'test/.readme-snippets/', 'examples/basic/java/target/', '__pycache__/'],
});
project.addPackageIgnore('/examples/');
project.addPackageIgnore('/scripts/');
project.addPackageIgnore('/.ci/');
project.addPackageIgnore('/DEVELOPERS.md');

// No jsii warnings: projen silences jsii's reserved-word warning (a name that is a keyword in C#,
// Java, Python or Go), we fail on it and on every other warning instead (DEVELOPERS.md "jsii").
project.compileTask.reset('jsii --fail-on-warnings');
project.tasks.tryFind('watch')?.reset('jsii -w --fail-on-warnings');
// README examples compile and translate into every language: the assembly asks jsii-rosetta (and
// jsii-pacmak, which translates the README for each package) for strict mode, fragments run in
// rosetta/default.ts-fixture, and test/rosetta.test.ts runs `jsii-rosetta extract --strict`.
project.package.file.addOverride('jsii.metadata.jsii.rosetta.strict', true);
project.gitignore.exclude('/.jsii.tabl.json');
// After each compile, write the translations (.jsii.tabl.json, shipped in the npm tarball) that
// jsii-pacmak puts into the Python, Java, .NET and Go READMEs; without it they show TypeScript.
const rosetta = project.addTask('rosetta:extract', {
  description: 'Compile and translate the README examples into every language (jsii-rosetta --strict, cached in rosetta/cache.tabl.json)',
  exec: 'jsii-rosetta extract --strict --cache rosetta/cache.tabl.json --trim-cache .',
});
project.postCompileTask.prependSpawn(rosetta);
project.addPackageIgnore('/rosetta/');

// Type-aware lint rules need a tsconfig that includes test/, examples/ and scripts/.
project.tryFindObjectFile('.eslintrc.json')?.addOverride('parserOptions.project', ['./tsconfig.dev.json', './projenrc/tsconfig.json']);

// The Python, Java, .NET and Go packages cannot be built offline (PyPI, Maven Central, dotnet,
// Go), but their sources can: generate them after every compile and byte-compile the Python.
const bindings = project.addTask('bindings:check', {
  description: 'Generate the Python, Java, .NET and Go sources with jsii-pacmak --code-only and byte-compile the Python',
});
bindings.exec('rm -rf dist/code-only && jsii-pacmak --code-only --outdir dist/code-only --target python --target java --target dotnet --target go');
bindings.exec('python3 -m compileall -q dist/code-only/python');
project.postCompileTask.spawn(bindings);

// `npm run bindings`: jsii-pacmak builds the Python wheel and Java jar (and the Go module's sources, which
// Go then builds), and examples/basic is synthesized in Python, Java and Go from the committed locks and
// compared with TypeScript's templates (scripts/bindings/run.sh; .ci/run runs it after the tests).
// .NET stays code-only (bindings:check): there is no .NET SDK on our machines.
const bindingsRun = project.addTask('bindings', {
  description: 'Build the Python, Java and Go bindings with jsii-pacmak and synthesize examples/basic in each language',
});
bindingsRun.exec('scripts/bindings/run.sh', { receiveArgs: true });
project.package.setScript('bindings', 'npx projen bindings');

// `npm run example`: the README's main job. Synthesizes examples/basic (or the example named
// after `--`) with the real CDK CLI into its cdk.out (no AWS credentials needed) and prints a summary.
const example = project.addTask('example', {
  description: 'Synthesize examples/basic (or `-- <name>`) with the CDK CLI and print a summary of what it deploys',
});
example.exec('scripts/run-example.sh', { receiveArgs: true });
project.package.setScript('example', 'npx projen example');

// `npm run bench`: synth time of examples/basic against a bare ApplicationLoadBalancedFargateService,
// the CLI synth wall time, template sizes against CloudFormation's limits and the monthly cost
// (scripts/bench.ts). Too slow for `npm test`; the README quotes it.
project.addTask('bench', {
  description: 'Time the synthesis of examples/basic (in process, against a bare ALB Fargate service, and with the CLI), size its templates and print its cost',
  exec: 'ts-node --project tsconfig.dev.json scripts/bench.ts',
  receiveArgs: true,
});

// `npm run e2e`: the local ECS runtime starts the synthesized example apps and runs every scenario
// (test/local-ecs/README.md); `npm run e2e -- --app <cdk.out> --dags <folder>` runs any app.
const e2e = project.addTask('e2e', {
  description: 'Start the synthesized deployments with the local ECS runtime (as root) and run the scenarios',
});
e2e.exec('ts-node --project tsconfig.dev.json test/local-ecs/e2e.ts', { receiveArgs: true });

// `npx projen integ -- <integ-runner options>`: the integ tests of the example apps (test/integ).
// Without options it verifies their snapshots offline; README, "For maintainers with an AWS account".
project.addTask('integ', {
  description: 'Run integ-runner on test/integ: verify the snapshots offline, or deploy with --force / --update-on-failed',
  exec: 'integ-runner --directory test/integ --language typescript',
  env: { TS_NODE_TRANSPILE_ONLY: '1' },
  receiveArgs: true,
});

// The worker-scaling simulation the README quotes.
project.addTask('simulate:scaling', {
  description: 'Simulate queue-based worker scaling on a bursty trace and compare with a fixed fleet',
  exec: '/usr/bin/python3 scripts/simulate_worker_scaling.py',
});

project.synth();
