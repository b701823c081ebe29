// What the builder could not use or had to change, counted by reason, so nothing is dropped silently.

export type IssueReason =
  | 'invalidRecord'
  | 'anonymousCall'
  | 'truncatedFile'
  | 'duplicateSpan'
  | 'mergedSpan'
  | 'sharedSpanId'
  | 'orphanSpan'
  | 'enclosingParent'
  | 'cycle'
  | 'selfCall'
  | 'endpointCycle'
  | 'clockSkew'
  | 'unresolvedLink'
  | 'foreignLink'
  | 'lateSpan';

export type IssueAction = 'dropped' | 'merged' | 'split' | 'kept' | 'kept-as-root' | 'corrected' | 'ignored';

const catalog: Record<IssueReason, { action: IssueAction; explanation: string }> = {
  invalidRecord: {
    action: 'dropped',
    explanation: 'a record could not be read (--lenient); it was skipped and the rest of the file was used',
  },
  anonymousCall: {
    action: 'dropped',
    explanation:
      'an Alibaba row names neither its caller nor its callee (UNKNOWN, (?) on both sides); it says nothing about the graph',
  },
  truncatedFile: {
    action: 'kept',
    explanation: 'a file ended or broke early (--lenient); the spans read before the break were kept',
  },
  duplicateSpan: {
    action: 'dropped',
    explanation:
      'a span id appeared more than once in a trace (duplicate export or log row); the first was kept',
  },
  mergedSpan: {
    action: 'merged',
    explanation: 'one span was reported in parts (same id and service, e.g. Zipkin late annotations); merged',
  },
  sharedSpanId: {
    action: 'split',
    explanation:
      'client and server halves of one RPC share a span id (Zipkin B3); they were split into two spans',
  },
  orphanSpan: {
    action: 'kept-as-root',
    explanation:
      'the parent span id is not in the trace (missing span or partial trace); the subtree was kept',
  },
  enclosingParent: {
    action: 'corrected',
    explanation:
      "the parent span id is not in the trace, but an enclosing span of the caller is (Alibaba: a call nested under the caller's own earlier call); attached there",
  },
  cycle: {
    action: 'dropped',
    explanation: 'the span is its own ancestor through parent ids; the spans of the cycle were dropped',
  },
  selfCall: {
    action: 'kept',
    explanation: 'an endpoint calls itself; kept, and its call probability bounds the recursion',
  },
  endpointCycle: {
    action: 'kept',
    explanation: 'endpoints call each other in a loop across traces; the edges were kept as observed',
  },
  clockSkew: {
    action: 'corrected',
    explanation:
      "a span lay outside its caller's interval (clock skew between hosts); its subtree was shifted",
  },
  unresolvedLink: {
    action: 'ignored',
    explanation: 'a span link names a span that is not in the trace; no async edge was made from it',
  },
  foreignLink: {
    action: 'ignored',
    explanation: 'a span link points into another trace (batch consumer); not followed',
  },
  lateSpan: {
    action: 'dropped',
    explanation: 'a span arrived after its trace was closed (the trace window was exceeded); raise --window',
  },
};

export interface Issue {
  reason: IssueReason;
  count: number;
  action: IssueAction;
  explanation: string;
  examples: string[];
}

const maxExamples = 3;

export class Issues {
  private readonly byReason = new Map<IssueReason, Issue>();

  add(reason: IssueReason, example?: string, count = 1): void {
    let issue = this.byReason.get(reason);
    if (!issue) {
      issue = { reason, count: 0, ...catalog[reason], examples: [] };
      this.byReason.set(reason, issue);
    }
    issue.count += count;
    if (example !== undefined && issue.examples.length < maxExamples) issue.examples.push(example);
  }

  count(reason: IssueReason): number {
    return this.byReason.get(reason)?.count ?? 0;
  }

  list(): Issue[] {
    return [...this.byReason.values()].sort((a, b) => a.reason.localeCompare(b.reason));
  }
}
