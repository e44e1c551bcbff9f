package regotest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
)

var errUnavailable = errors.New("503 unavailable")

func TestScriptRunsStepsThenRepeatsTheLast(t *testing.T) {
	s := regotest.NewScript(regotest.Fail[int](errUnavailable), regotest.Return(7))
	ctx := context.Background()
	if _, err := s.Op(ctx); err != errUnavailable {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if v, err := s.Op(ctx); v != 7 || err != nil {
			t.Fatal(v, err)
		}
	}
	if s.Calls() != 4 {
		t.Fatal(s.Calls())
	}
}

func TestScriptSteps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := regotest.Hang[int]()(ctx); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	clk := regotest.NewClock(time.Time{})
	done := make(chan int)
	go func() {
		v, _ := regotest.Slow(clk, time.Second, regotest.Return(5))(context.Background())
		done <- v
	}()
	clk.BlockUntil(1)
	clk.Advance(time.Second)
	if v := <-done; v != 5 {
		t.Fatal(v)
	}
	if _, err := regotest.Slow(clk, time.Second, regotest.Return(5))(ctx); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	defer func() {
		if recover() != "boom" {
			t.Fatal("no panic")
		}
	}()
	_, _ = regotest.Panic[int]("boom")(context.Background())
}

func ExampleScript() {
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Clock: regotest.NewAutoClock(time.Time{}), // backoffs cost no real time
	})
	op := regotest.NewScript(
		regotest.Fail[string](errUnavailable),
		regotest.Fail[string](errUnavailable),
		regotest.Return("ok"),
	)
	v, tl, err := retry.DoValueWithTimeline(context.Background(), exec, policy.ParseKey("svc.Get"), op.Op)
	fmt.Println(v, err, op.Calls(), len(tl.Attempts))
	// Output: ok <nil> 3 3
}
