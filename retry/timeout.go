package retry

import (
	"context"
	"time"

	"github.com/aponysus/rego/clock"
)

// withTimeout is context.WithTimeout on the executor's clock. On the real
// clock it is exactly context.WithTimeout; on a virtual clock the context
// expires, with context.DeadlineExceeded, when the virtual time reaches
// the deadline (its own, or its parent's if that comes first), in the
// goroutine that advances the clock: a driver on virtual time sees the
// context ended as soon as the time has come.
func withTimeout(parent context.Context, clk clock.Clock, real bool, d time.Duration) (context.Context, context.CancelFunc) {
	if real {
		return context.WithTimeout(parent, d)
	}
	c := &clockCtx{parent: parent, deadline: clk.Now().Add(d)}
	if pd, ok := parent.Deadline(); ok && pd.Before(c.deadline) {
		c.deadline = pd
	}
	if err := parent.Err(); err != nil {
		c.cancel(err)
		return c, func() {}
	}
	stopParent := afterParent(parent, func() { c.cancel(parent.Err()) })
	t := clk.AfterFunc(c.deadline.Sub(clk.Now()), func() { c.cancel(context.DeadlineExceeded) })
	return c, func() {
		stopParent()
		t.Stop()
		c.cancel(context.Canceled)
	}
}

// afterFuncer is a context that runs functions when it ends, as the
// context package's own contexts do for their children.
type afterFuncer interface {
	AfterFunc(func()) func() bool
}

// afterParent arranges for f to run when parent ends. The executor's own
// contexts run it synchronously, as they end; others through
// context.AfterFunc, in a goroutine.
func afterParent(parent context.Context, f func()) (stop func() bool) {
	if a, ok := parent.(afterFuncer); ok {
		return a.AfterFunc(f)
	}
	return context.AfterFunc(parent, f)
}

// clockCtx is a context whose deadline is kept by a clock.Clock.
type clockCtx struct {
	ending
	parent   context.Context
	deadline time.Time
}

func (c *clockCtx) cancel(err error)            { c.end(err) }
func (c *clockCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *clockCtx) Value(key any) any           { return c.parent.Value(key) }
