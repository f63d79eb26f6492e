// What `npm run example` prints after synthesizing: the summary of the assembly, then its monthly cost.
import { estimateCost, renderCost } from './cost/estimate';
import { render, summarize } from './summarize-assembly';

export function report(assemblyDir: string): string {
  return `${render(summarize(assemblyDir))}\n\n${renderCost(estimateCost(assemblyDir))}`;
}

if (require.main === module) {
  console.log(report(process.argv[2] ?? 'cdk.out'));
}
