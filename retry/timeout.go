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
// the deadline (its own, or its parent's if that comes first), in the
// goroutine that advances the clock: a driver on virtual time sees the
// context ended as soon as the time has come.
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
	parent   context.Context
	done     chan struct{}
	deadline time.Time
	mu       sync.Mutex
	err      error
	afters   afterFuncs
}

func (c *clockCtx) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	close(c.done)
	run := c.afters.take()
	c.mu.Unlock()
	run.run()
}

func (c *clockCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *clockCtx) Done() <-chan struct{}       { return c.done }
func (c *clockCtx) Value(key any) any           { return c.parent.Value(key) }

func (c *clockCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AfterFunc runs f when the context ends, in the goroutine that ends it
// (at once if it has ended), and returns a function that stops it. The
// context package uses it for the contexts derived from this one.
func (c *clockCtx) AfterFunc(f func()) func() bool {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		f()
		return func() bool { return false }
	}
	stop := c.afters.add(&c.mu, f)
	c.mu.Unlock()
	return stop
}

// afterFuncs are the functions registered with an executor context's
// AfterFunc, guarded by that context's mutex.
type afterFuncs []*afterFunc

// afterFunc is a function registered with AfterFunc.
type afterFunc struct {
	f    func()
	done bool // run or stopped
}

// add registers f; the stop function it returns takes mu.
func (as *afterFuncs) add(mu *sync.Mutex, f func()) func() bool {
	a := &afterFunc{f: f}
	*as = append(*as, a)
	return func() bool {
		mu.Lock()
		defer mu.Unlock()
		if a.done {
			return false
		}
		a.done = true
		return true
	}
}

// take returns the functions to run, not stopped, marks them run and
// forgets them all (under the mutex).
func (as *afterFuncs) take() afterFuncs {
	var run afterFuncs
	for _, a := range *as {
		if !a.done {
			a.done = true
			run = append(run, a)
		}
	}
	*as = nil
	return run
}

// run calls the functions take marked (outside the mutex).
func (as afterFuncs) run() {
	for _, a := range as {
		a.f()
	}
}
