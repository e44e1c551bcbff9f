// Package bulkhead caps how many attempts of a key run at once, so that one
// slow dependency cannot take every goroutine, connection or worker of its
// caller (or, on a server, every worker of the server).
//
// A key's Bulkhead admits an attempt at once while fewer than
// MaxConcurrent of its attempts run. Over the cap, an attempt waits in a
// first-in, first-out queue of at most MaxQueue attempts, for at most
// MaxWait, never past the caller's context; a slot freed by an attempt
// that ends goes to the attempt that has waited longest. An attempt that
// cannot get a slot is refused with a *gate.RefusedError wrapping ErrFull,
// whose Reason says why: ReasonFull (no slot and MaxWait is zero),
// ReasonQueueFull (MaxQueue attempts already wait), ReasonWaitTimeout
// (MaxWait passed), or ReasonCancelled (the context ended while waiting;
// the error then also matches the context's error).
//
// Registry is a gate.Gate: it keeps one Bulkhead per key, reads the key's
// policy.BulkheadPolicy from the attempt's policy on every admission (so a
// reloaded policy applies to the next attempt, and attempts already
// running keep their slots), and waits on its Clock, so that tests run on
// virtual time:
//
//	reg := &bulkhead.Registry{}
//	permit, err := reg.Admit(ctx, gate.Attempt{Key: key, Policy: p}, time.Now())
//	if err != nil {
//		return err // errors.Is(err, bulkhead.ErrFull)
//	}
//	defer permit.Done(gate.Result{Verdict: gate.Answered})
//
// The zero values of the policy's fields are the documented defaults:
// MaxConcurrent 10, MaxQueue MaxConcurrent, MaxWait zero (refuse at once).
package bulkhead
