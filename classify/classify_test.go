package classify_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aponysus/rego/classify"
)

var errBase = errors.New("base")

func TestDefault(t *testing.T) {
	tests := []struct {
		err      error
		kind     classify.OutcomeKind
		override time.Duration
	}{
		{nil, classify.OutcomeSuccess, 0},
		{errBase, classify.OutcomeRetryable, 0},
		{classify.Permanent(errBase), classify.OutcomeNonRetryable, 0},
		{fmt.Errorf("wrapped: %w", classify.Permanent(errBase)), classify.OutcomeNonRetryable, 0},
		{classify.RetryAfter(errBase, 3*time.Second), classify.OutcomeRetryable, 3 * time.Second},
		{fmt.Errorf("wrapped: %w", classify.RetryAfter(errBase, time.Second)), classify.OutcomeRetryable, time.Second},
		{classify.RetryAfter(errBase, -time.Second), classify.OutcomeRetryable, 0},
		{context.DeadlineExceeded, classify.OutcomeRetryable, 0},
	}
	for _, tt := range tests {
		out := classify.Default.Classify(nil, tt.err)
		if out.Kind != tt.kind || out.BackoffOverride != tt.override {
			t.Errorf("Classify(%v) = %+v, want %v override %v", tt.err, out, tt.kind, tt.override)
		}
	}
	if classify.Permanent(nil) != nil || classify.RetryAfter(nil, time.Second) != nil {
		t.Error("marking nil must give nil")
	}
	if !errors.Is(classify.Permanent(errBase), errBase) || !errors.Is(classify.RetryAfter(errBase, 1), errBase) {
		t.Error("marks must unwrap")
	}
}

func TestRegistry(t *testing.T) {
	r := classify.NewRegistry()
	if _, ok := r.Get("x"); ok {
		t.Fatal("empty registry found x")
	}
	c := classify.Func(func(any, error) classify.Outcome { return classify.Outcome{Kind: classify.OutcomeAbort} })
	r.Register("x", c)
	got, ok := r.Get("x")
	if !ok || got.Classify(nil, nil).Kind != classify.OutcomeAbort {
		t.Fatal("registered classifier not found")
	}
	var nilReg *classify.Registry
	if _, ok := nilReg.Get("x"); ok {
		t.Fatal("nil registry found x")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Register(nil) did not panic")
		}
	}()
	r.Register("y", nil)
}

func TestOutcomeKindString(t *testing.T) {
	if classify.OutcomeNonRetryable.String() != "non_retryable" || classify.OutcomeKind(42).String() != "OutcomeKind(42)" {
		t.Fatal("bad names")
	}
}

func TestMarksInsideJoinedErrors(t *testing.T) {
	err := errors.Join(errBase, fmt.Errorf("x: %w", classify.Permanent(errBase)))
	if k := classify.Default.Classify(nil, err).Kind; k != classify.OutcomeNonRetryable {
		t.Fatalf("kind %v", k)
	}
}

func TestDefaultDoesNotAllocate(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", errBase)
	if n := testing.AllocsPerRun(100, func() { _ = classify.Default.Classify(nil, err) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}
