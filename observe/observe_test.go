package observe_test

import (
	"context"
	"testing"

	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

type counter struct {
	observe.BaseObserver
	n *int
}

func (c counter) OnAttempt(context.Context, policy.PolicyKey, observe.AttemptRecord) { *c.n++ }

func TestMultiObserverSkipsNil(t *testing.T) {
	n := 0
	m := observe.MultiObserver{Observers: []observe.Observer{counter{n: &n}, nil, counter{n: &n}}}
	ctx := context.Background()
	m.OnStart(ctx, policy.PolicyKey{}, policy.EffectivePolicy{})
	m.OnAttempt(ctx, policy.PolicyKey{}, observe.AttemptRecord{})
	m.OnHedgeSpawn(ctx, policy.PolicyKey{}, observe.AttemptRecord{})
	m.OnHedgeCancel(ctx, policy.PolicyKey{}, observe.AttemptRecord{}, "lost")
	m.OnSuccess(ctx, policy.PolicyKey{}, observe.Timeline{})
	m.OnFailure(ctx, policy.PolicyKey{}, observe.Timeline{})
	if n != 2 {
		t.Fatalf("OnAttempt reached %d observers, want 2", n)
	}
}

func TestIsNoop(t *testing.T) {
	if !observe.IsNoop(nil) || !observe.IsNoop(observe.NoopObserver{}) || !observe.IsNoop(observe.BaseObserver{}) {
		t.Fatal("no-op observers not recognised")
	}
	n := 0
	if observe.IsNoop(counter{n: &n}) || observe.IsNoop(observe.MultiObserver{}) {
		t.Fatal("real observer taken for a no-op")
	}
}

type ctxKey struct{}

func TestAttemptFromContext(t *testing.T) {
	if _, ok := observe.AttemptFromContext(context.Background()); ok {
		t.Fatal("info in a bare context")
	}
	info := observe.AttemptInfo{RetryIndex: 1, Attempt: 2, IsHedge: true, HedgeIndex: 1, PolicyID: "p"}
	ctx := observe.WithAttempt(context.WithValue(context.Background(), ctxKey{}, "v"), info)
	if got, ok := observe.AttemptFromContext(ctx); !ok || got != info {
		t.Fatalf("got %+v %v", got, ok)
	}
	// Through a derived context, and other values still visible.
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	if got, ok := observe.AttemptFromContext(child); !ok || got != info {
		t.Fatalf("through child: %+v %v", got, ok)
	}
	if child.Value(ctxKey{}) != "v" {
		t.Fatal("parent value lost")
	}
}
