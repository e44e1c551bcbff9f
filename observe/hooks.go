package observe

// Hooks is a set of Observer callbacks.
type Hooks uint8

// The callbacks of an Observer, one bit each.
const (
	HookStart       Hooks = 1 << iota // OnStart
	HookAttempt                       // OnAttempt
	HookHedgeSpawn                    // OnHedgeSpawn
	HookHedgeCancel                   // OnHedgeCancel
	HookSuccess                       // OnSuccess
	HookFailure                       // OnFailure

	// AllHooks is every callback: what the executor assumes of an observer
	// that does not implement HookSelector.
	AllHooks = HookStart | HookAttempt | HookHedgeSpawn | HookHedgeCancel | HookSuccess | HookFailure
)

// HookSelector is implemented by an Observer that uses only some of its
// callbacks (typically one that embeds BaseObserver for the rest), so that
// the executor skips the work the others need. The executor reads the set
// once, when it is built, and calls only the callbacks in it. What it
// spares:
//
//   - without HookStart, the copy of the call's policy passed to OnStart;
//   - without HookSuccess and HookFailure, the call's timeline: its
//     attribute map is not built and its records are not kept, each record
//     existing only to be passed to OnAttempt, OnHedgeSpawn or
//     OnHedgeCancel (a call that returns its timeline, such as
//     DoWithTimeline, still builds it in full);
//   - with none of the callbacks about attempts either, the records.
//
// The callbacks not in the set must still be safe to call (a MultiObserver
// fans every event out to all of its observers): embedding BaseObserver
// keeps them no-ops.
type HookSelector interface {
	Observer
	ObserverHooks() Hooks
}

// HooksOf returns the callbacks of o that the executor calls: none for nil,
// NoopObserver and a bare BaseObserver, the set of a HookSelector, and
// AllHooks for any other observer.
func HooksOf(o Observer) Hooks {
	switch o := o.(type) {
	case nil, NoopObserver, BaseObserver:
		return 0
	case HookSelector:
		return o.ObserverHooks() & AllHooks
	}
	return AllHooks
}

// ObserverHooks returns the union of the callbacks of m's observers (see
// HooksOf), as they are when the executor reads it: an executor built
// with m does not see observers added to it later.
func (m MultiObserver) ObserverHooks() Hooks {
	var h Hooks
	for _, o := range m.Observers {
		h |= HooksOf(o)
	}
	return h
}
