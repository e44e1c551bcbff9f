// Package observe records what the executor did and why.
//
// Every call can produce a Timeline: one AttemptRecord per attempt (denied
// attempts included), with the outcome, the wait computed before it and the
// budget's decision, plus call-level attributes such as policy_source.
// Observers receive the same records as callbacks, synchronously, in the
// caller's goroutine: every callback about an attempt that has returned
// completes before the call returns, and OnSuccess or OnFailure is the
// call's last. An observer that uses only some callbacks can say so
// (HookSelector): the executor then skips the work the others need, such
// as building the timeline for an observer that only counts attempts.
//
// Inside an attempt, AttemptFromContext tells the operation which attempt
// it is running.
package observe
