package retry

import (
	"context"
	"sync"
	"time"

	"github.com/aponysus/rego/clock"
)

// withTimeout is context.WithTimeout on the executor's clock. On the real
// clock it is exactly context.WithTimeout; on a virtual clock the context
// expires, with context.DeadlineExceeded, when the virtual time reaches
// the deadline.
func withTimeout(parent context.Context, clk clock.Clock, real bool, d time.Duration) (context.Context, context.CancelFunc) {
	if real {
		return context.WithTimeout(parent, d)
	}
	c := &clockCtx{parent: parent, done: make(chan struct{}), deadline: clk.Now().Add(d)}
	if pd, ok := parent.Deadline(); ok && pd.Before(c.deadline) {
		c.deadline = pd
	}
	if err := parent.Err(); err != nil {
		c.cancel(err)
		return c, func() {}
	}
	stopParent := context.AfterFunc(parent, func() { c.cancel(parent.Err()) })
	t := clk.AfterFunc(d, func() { c.cancel(context.DeadlineExceeded) })
	return c, func() {
		stopParent()
		t.Stop()
		c.cancel(context.Canceled)
	}
}

// clockCtx is a context whose deadline is kept by a clock.Clock.
type clockCtx struct {
	parent   context.Context
	done     chan struct{}
	deadline time.Time
	mu       sync.Mutex
	err      error
}

func (c *clockCtx) cancel(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}

func (c *clockCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *clockCtx) Done() <-chan struct{}       { return c.done }
func (c *clockCtx) Value(key any) any           { return c.parent.Value(key) }

func (c *clockCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
