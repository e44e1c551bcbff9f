// Package regotest holds what users need to test code that runs through
// rego: virtual clocks, a seeded random source and scripted faults.
//
// Tests that use Clock never sleep: they advance time explicitly (Advance,
// with BlockUntil to wait for a goroutine to reach its timer), or let the
// clock jump to every wait it is asked for (NewAutoClock). InstantClock
// ends every wait at once without allocating, for benchmarks.
//
// A Script is an operation whose attempts follow a script of Steps
// (Return, Fail, Hang, Slow, Panic), so that a test can say "the first
// attempt gets a 503, the second hangs, the third succeeds" and check what
// the executor made of it:
//
//	exec := retry.NewExecutor(retry.ExecutorOptions{Clock: regotest.NewAutoClock(time.Time{})})
//	op := regotest.NewScript(regotest.Fail[string](errUnavailable), regotest.Return("ok"))
//	v, tl, err := retry.DoValueWithTimeline(ctx, exec, key, op.Op)
package regotest
