import { ensureRequirements } from './requirements';

/** Jest global setup: make sure the real services the runtime tests use are installed. */
export default async function globalSetup(): Promise<void> {
  ensureRequirements();
}
