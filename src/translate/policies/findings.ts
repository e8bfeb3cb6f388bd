// What translating one policy found: refusals (nothing of the policy is sent) and gaps (the
// policy is sent without the part that failed, and its status says PartiallyValid).
export class Findings {
  readonly refusals: Array<string> = []
  readonly gaps: Array<string> = []
  refuse(message: string | undefined): void {
    if (message !== undefined) this.refusals.push(message)
  }
  gap(message: string): void {
    this.gaps.push(message)
  }
}
