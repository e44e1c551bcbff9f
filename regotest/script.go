package regotest

import (
	"context"
	"sync"
	"time"

	"github.com/aponysus/rego/clock"
)

// Step is what one attempt of a scripted operation does.
type Step[T any] func(ctx context.Context) (T, error)

// Return makes an attempt succeed with v.
func Return[T any](v T) Step[T] {
	return func(context.Context) (T, error) { return v, nil }
}

// Fail makes an attempt fail with err.
func Fail[T any](err error) Step[T] {
	return func(context.Context) (T, error) {
		var zero T
		return zero, err
	}
}

// Hang makes an attempt wait for its context to end (a per-attempt
// timeout, a lost hedge, the caller giving up) and return its error, as a
// dependency that never answers would.
func Hang[T any]() Step[T] {
	return func(ctx context.Context) (T, error) {
		<-ctx.Done()
		var zero T
		return zero, ctx.Err()
	}
}

// Slow makes an attempt take d on clk (nil: the wall clock) before doing
// what step does; it returns the context's error if the context ends
// first. On a regotest.Clock the attempt waits for the test to Advance it.
func Slow[T any](clk clock.Clock, d time.Duration, step Step[T]) Step[T] {
	if clk == nil {
		clk = clock.Real{}
	}
	return func(ctx context.Context) (T, error) {
		t := clk.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C():
			return step(ctx)
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
}

// Panic makes an attempt panic with v.
func Panic[T any](v any) Step[T] {
	return func(context.Context) (T, error) { panic(v) }
}

// Script is an operation whose attempts follow a script: the first call
// runs the first step, the second call the second, and so on; once the
// script is exhausted the last step repeats. It records how often it was
// called and is safe for concurrent use (hedged attempts).
//
//	op := regotest.NewScript(
//		regotest.Fail[string](errUnavailable),
//		regotest.Hang[string](),
//		regotest.Return("ok"),
//	)
//	v, err := retry.DoValue(ctx, exec, key, op.Op)
type Script[T any] struct {
	mu    sync.Mutex
	steps []Step[T]
	calls int
}

// NewScript returns a script of steps. It panics without steps.
func NewScript[T any](steps ...Step[T]) *Script[T] {
	if len(steps) == 0 {
		panic("regotest: NewScript without steps")
	}
	return &Script[T]{steps: steps}
}

// Op runs the next step of the script. Pass it as the operation.
func (s *Script[T]) Op(ctx context.Context) (T, error) {
	s.mu.Lock()
	i := s.calls
	s.calls++
	if i >= len(s.steps) {
		i = len(s.steps) - 1
	}
	step := s.steps[i]
	s.mu.Unlock()
	return step(ctx)
}

// Calls returns how many times Op has been called.
func (s *Script[T]) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}
