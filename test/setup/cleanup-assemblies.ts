/**
 * Every `new App()` without an outdir synthesizes into a new temporary `cdk.out*` directory, and
 * the default images' ECR copy (cdk-ecr-deployment) stages its 52 MB Lambda binary into each one.
 * aws-cdk-lib deletes them when the process exits, which jest's workers do not do between test
 * files; a full run left about 50 GB in /tmp and a clean-clone CI run filled the disk (ENOSPC).
 * Delete each test file's assemblies when it finishes.
 */
import { CloudAssembly } from 'aws-cdk-lib/cx-api';

afterAll(() => CloudAssembly.cleanupTemporaryDirectories());
