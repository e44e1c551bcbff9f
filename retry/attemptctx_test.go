package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aponysus/rego/observe"
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
