package rego

import (
	"context"
	"sync/atomic"

	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

var defaultExec atomic.Pointer[retry.Executor]

// Default returns the executor the facade uses, building it on first use.
func Default() *retry.Executor {
	if e := defaultExec.Load(); e != nil {
		return e
	}
	defaultExec.CompareAndSwap(nil, retry.NewExecutor(retry.ExecutorOptions{}))
	return defaultExec.Load()
}

// Init makes exec the facade's executor. Init(nil) restores a fresh default
// executor. It is safe for concurrent use.
func Init(exec *retry.Executor) {
	if exec == nil {
		exec = retry.NewExecutor(retry.ExecutorOptions{})
	}
	defaultExec.Store(exec)
}

// ParseKey parses "namespace.name"; see policy.ParseKey.
func ParseKey(s string) policy.PolicyKey { return policy.ParseKey(s) }

// Do runs op under the policy of key on the default executor.
func Do(ctx context.Context, key string, op func(context.Context) error) error {
	return Default().Do(ctx, policy.ParseKey(key), op)
}

// DoWithTimeline is Do, also returning the call's timeline.
func DoWithTimeline(ctx context.Context, key string, op func(context.Context) error) (observe.Timeline, error) {
	return Default().DoWithTimeline(ctx, policy.ParseKey(key), op)
}

// DoValue runs op under the policy of key on the default executor and
// returns its value.
func DoValue[T any](ctx context.Context, key string, op func(context.Context) (T, error)) (T, error) {
	return retry.DoValue[T](ctx, Default(), policy.ParseKey(key), op)
}

// DoValueWithTimeline is DoValue, also returning the call's timeline.
func DoValueWithTimeline[T any](ctx context.Context, key string, op func(context.Context) (T, error)) (T, observe.Timeline, error) {
	return retry.DoValueWithTimeline[T](ctx, Default(), policy.ParseKey(key), op)
}
