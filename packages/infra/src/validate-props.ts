import { UsageError } from '@dmskit/shared';

/** One prop check: when `failed` is true, `message` says which prop and why. */
export interface PropRule {
  readonly failed: boolean;
  readonly message: string;
}

/**
 * Checks a construct's props against a table of rules and reports every failure in one error
 * ("Network initialization failed: ..."), the aws-cdk way, at synth time rather than at apply time.
 * @throws UsageError listing each failed rule
 */
export function validateProps(construct: string, rules: readonly PropRule[]): void {
  const failed = rules.filter((r) => r.failed).map((r) => r.message);
  if (failed.length) throw new UsageError(`${construct} initialization failed: ${failed.join('; ')}`);
}
