package observe_test

import (
	"context"
	"testing"

	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// attemptsOnly uses OnAttempt alone and says so.
type attemptsOnly struct{ counter }

func (attemptsOnly) ObserverHooks() observe.Hooks { return observe.HookAttempt }

// overclaiming says it uses callbacks Observer does not have.
type overclaiming struct{ observe.BaseObserver }

func (overclaiming) ObserverHooks() observe.Hooks { return 0xff }

func TestHooksOf(t *testing.T) {
	n := 0
	cases := []struct {
		name string
		o    observe.Observer
		want observe.Hooks
	}{
		{"nil", nil, 0},
		{"NoopObserver", observe.NoopObserver{}, 0},
		{"BaseObserver", observe.BaseObserver{}, 0},
		{"an observer that does not say", counter{n: &n}, observe.AllHooks},
		{"a HookSelector", attemptsOnly{counter{n: &n}}, observe.HookAttempt},
		{"bits beyond AllHooks are dropped", overclaiming{}, observe.AllHooks},
		{"empty MultiObserver", observe.MultiObserver{}, 0},
		{"MultiObserver of no-ops", observe.MultiObserver{Observers: []observe.Observer{nil, observe.BaseObserver{}}}, 0},
		{"MultiObserver: the union", observe.MultiObserver{Observers: []observe.Observer{attemptsOnly{counter{n: &n}}, nil}}, observe.HookAttempt},
		{"MultiObserver with one that does not say", observe.MultiObserver{Observers: []observe.Observer{attemptsOnly{counter{n: &n}}, counter{n: &n}}}, observe.AllHooks},
		{"nested MultiObserver", observe.MultiObserver{Observers: []observe.Observer{observe.MultiObserver{Observers: []observe.Observer{attemptsOnly{counter{n: &n}}}}}}, observe.HookAttempt},
	}
	for _, c := range cases {
		if got := observe.HooksOf(c.o); got != c.want {
			t.Errorf("%s: HooksOf = %06b, want %06b", c.name, got, c.want)
		}
	}
	if observe.AllHooks != observe.HookStart|observe.HookAttempt|observe.HookHedgeSpawn|observe.HookHedgeCancel|observe.HookSuccess|observe.HookFailure {
		t.Errorf("AllHooks = %06b", observe.AllHooks)
	}
}

// A MultiObserver still fans every event out to all its observers: the
// executor, not the observer, skips the callbacks outside the set.
func TestMultiObserverCallsUnselectedHooks(t *testing.T) {
	n := 0
	m := observe.MultiObserver{Observers: []observe.Observer{attemptsOnly{counter{n: &n}}}}
	m.OnAttempt(context.Background(), policy.PolicyKey{}, observe.AttemptRecord{})
	m.OnSuccess(context.Background(), policy.PolicyKey{}, observe.Timeline{})
	if n != 1 {
		t.Fatalf("OnAttempt counted %d, want 1", n)
	}
}
