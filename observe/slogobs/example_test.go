package slogobs_test

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/aponysus/rego/observe/slogobs"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

func Example() {
	// A text handler without timestamps, so that the output is stable.
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" {
				return slog.Attr{}
			}
			return a
		},
	})
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Observer: slogobs.New(slogobs.Options{Logger: slog.New(h)}),
		Clock:    regotest.InstantClock{},
		Rand:     regotest.NewRand(1),
	})
	calls := 0
	_ = exec.Do(context.Background(), policy.ParseKey("inventory.Reserve"), func(context.Context) error {
		if calls++; calls == 1 {
			return errors.New("503 service unavailable")
		}
		return nil
	})
	// Output:
	// level=DEBUG msg="rego attempt" key=inventory.Reserve attempt=0 kind=first retry=0 outcome=retryable reason=error gates="no budget configured" err="503 service unavailable"
	// level=DEBUG msg="rego attempt" key=inventory.Reserve attempt=1 kind=retry retry=1 outcome=success gates="no budget configured" wait=60.466028ms
	// level=INFO msg="rego call" key=inventory.Reserve policy="" source=default attempts=2
}
