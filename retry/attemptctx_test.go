package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/internal/attemptctx"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

func TestAttemptCtx(t *testing.T) {
	info := observe.AttemptInfo{Attempt: 2, IsHedge: true, HedgeIndex: 1}
	t.Run("cancel before and after Done", func(t *testing.T) {
		for _, askFirst := range []bool{true, false} {
			c := newAttemptCtx(context.Background(), info)
			var done <-chan struct{}
			if askFirst {
				done = c.Done()
			}
			if c.Err() != nil {
				t.Fatal("ended before cancel")
			}
			c.cancel(context.Canceled)
			c.cancel(context.DeadlineExceeded) // the first end stays
			if done == nil {
				done = c.Done()
			}
			<-done
			if !errors.Is(c.Err(), context.Canceled) {
				t.Fatalf("err = %v", c.Err())
			}
		}
	})
	t.Run("info through derived contexts", func(t *testing.T) {
		c := newAttemptCtx(context.Background(), info)
		child, cancel := context.WithTimeout(c, time.Hour)
		defer cancel()
		got, ok := observe.AttemptFromContext(child)
		if !ok || got != info {
			t.Fatalf("AttemptFromContext = %+v, %v", got, ok)
		}
		c.cancel(context.Canceled)
		<-child.Done() // a derived context ends with the attempt's
		if !errors.Is(child.Err(), context.Canceled) {
			t.Fatalf("child err = %v", child.Err())
		}
	})
	t.Run("ends with its parent", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		c := newAttemptCtx(parent, info)
		if dl, ok := c.Deadline(); ok || !dl.IsZero() {
			t.Fatalf("deadline = %v, %v", dl, ok)
		}
		cancel()
		<-c.Done()
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("err = %v", c.Err())
		}
		ended, cancel2 := context.WithDeadline(context.Background(), time.Unix(1, 0))
		defer cancel2()
		if c := newAttemptCtx(ended, info); !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("child of an ended parent: err = %v", c.Err())
		}
	})
	t.Run("AfterFunc", func(t *testing.T) {
		c := newAttemptCtx(context.Background(), info)
		ran := make(chan string, 3)
		stopA := context.AfterFunc(c, func() { ran <- "a" })
		stopB := context.AfterFunc(c, func() { ran <- "b" })
		if !stopB() || stopB() {
			t.Fatal("stop: want true once, then false")
		}
		c.cancel(context.Canceled)
		if got := <-ran; got != "a" {
			t.Fatalf("ran %q, want a", got)
		}
		if stopA() {
			t.Fatal("stop after the function ran: want false")
		}
		context.AfterFunc(c, func() { ran <- "late" }) // registered after the end: runs at once
		if got := <-ran; got != "late" {
			t.Fatalf("ran %q, want late", got)
		}
		select {
		case got := <-ran:
			t.Fatalf("ran %q after it was stopped", got)
		default:
		}
	})
}

// hostCtx is a call's context that lends its first attempt's context room
// (attemptctx.Host), as regohttp's call does.
type hostCtx struct {
	context.Context
	first attemptctx.Ctx[observe.AttemptInfo]
	asked int
}

func (h *hostCtx) FirstAttempt() *attemptctx.Ctx[observe.AttemptInfo] {
	h.asked++
	return &h.first
}

func TestHostLendsTheFirstAttemptsContext(t *testing.T) {
	for _, tpa := range []time.Duration{0, time.Hour} {
		exec := NewExecutor(ExecutorOptions{
			Provider: &controlplane.StaticProvider{Default: policy.EffectivePolicy{ID: "p", Retry: policy.RetryPolicy{
				MaxAttempts: 3, InitialBackoff: time.Nanosecond, MaxBackoff: time.Nanosecond, TimeoutPerAttempt: tpa,
			}}},
			Clock: regotest.InstantClock{},
		})
		h := &hostCtx{Context: context.Background()}
		var ctxs []context.Context
		op := func(ctx context.Context) (int, error) {
			ctxs = append(ctxs, ctx)
			if len(ctxs) < 3 {
				return 0, errors.New("again")
			}
			return 7, nil
		}
		v, _, err := DoValueWith(h, exec, policy.ParseKey("a.b"), op, CallOptions[int]{})
		if err != nil || v != 7 {
			t.Fatalf("timeout %v: got %d, %v", tpa, v, err)
		}
		if h.asked != 1 || ctxs[0] != context.Context(&h.first) {
			t.Fatalf("timeout %v: room asked %d times; first attempt's context %p, the room %p", tpa, h.asked, ctxs[0], &h.first)
		}
		for i, ctx := range ctxs {
			info, ok := observe.AttemptFromContext(ctx)
			if !ok || info.Attempt != i || info.RetryIndex != i || info.PolicyID != "p" {
				t.Errorf("timeout %v: attempt %d: info %+v, %v", tpa, i, info, ok)
			}
			if i > 0 && ctx == context.Context(&h.first) {
				t.Errorf("timeout %v: attempt %d reuses the first attempt's room", tpa, i)
			}
		}
		if (tpa > 0) != (h.first.Context != context.Context(h)) {
			t.Errorf("timeout %v: the first attempt's parent is %v", tpa, h.first.Context)
		}
		// Do and DoValue take no room: only DoValueWith asks.
		ctxs = nil
		if _, err := DoValue(h, exec, policy.ParseKey("a.b"), op); err != nil || h.asked != 1 {
			t.Fatalf("timeout %v: DoValue: %v, room asked %d times", tpa, err, h.asked)
		}
	}
}
