package retry

import (
	"context"
	"sync"
	"time"

	"github.com/aponysus/rego/internal/ctxkey"
	"github.com/aponysus/rego/observe"
)

// attemptCtx is the context of an attempt of the concurrent mode that has
// no timeout of its own: context.WithCancel and observe.WithAttempt in one
// allocation. Its Done channel is made only when someone asks for it, and
// it ends with its parent (the call's context) through the parent's
// AfterFunc only when the parent can end at all.
type attemptCtx struct {
	parent     context.Context
	info       observe.AttemptInfo
	mu         sync.Mutex
	done       chan struct{}
	err        error
	stopParent func() bool
	afters     afterFuncs
}

// closedDone is the Done channel of an attempt context that ended before
// anyone asked for its channel.
var closedDone = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

func newAttemptCtx(parent context.Context, info observe.AttemptInfo) *attemptCtx {
	c := &attemptCtx{parent: parent, info: info}
	if parent.Done() == nil {
		return c
	}
	if err := parent.Err(); err != nil {
		c.cancel(err)
		return c
	}
	stop := afterParent(parent, func() { c.cancel(parent.Err()) })
	c.mu.Lock()
	c.stopParent = stop
	ended := c.err != nil // the parent ended already: nothing to stop later
	c.mu.Unlock()
	if ended {
		stop()
	}
	return c
}

// cancel ends the context with err, unless it has ended already.
func (c *attemptCtx) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.done == nil {
		c.done = closedDone
	} else {
		close(c.done)
	}
	run := c.afters.take()
	stop := c.stopParent
	c.mu.Unlock()
	run.run()
	if stop != nil {
		stop()
	}
}

func (c *attemptCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }

func (c *attemptCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
	}
	return c.done
}

func (c *attemptCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *attemptCtx) Value(key any) any {
	if _, ok := key.(ctxkey.Attempt); ok {
		return &c.info
	}
	return c.parent.Value(key)
}

// AfterFunc runs f when the context ends, in the goroutine that ends it
// (at once if it has ended), and returns a function that stops it. The
// context package uses it for the contexts derived from an attempt's
// (context.AfterFunc's own functions still run in goroutines of their own):
// they end with the attempt's, without a goroutine of their own while
// they wait.
func (c *attemptCtx) AfterFunc(f func()) func() bool {
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
