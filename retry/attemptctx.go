package retry

import (
	"context"
	"time"

	"github.com/aponysus/rego/internal/attemptctx"
	"github.com/aponysus/rego/internal/ctxkey"
	"github.com/aponysus/rego/observe"
)

// attemptCtx is the context of an attempt of the concurrent mode that has
// no timeout of its own: context.WithCancel and observe.WithAttempt in one
// allocation. Its Done channel is made only when someone asks for it, and
// it ends with its parent (the call's context) through the parent's
// AfterFunc only when the parent can end at all.
type attemptCtx struct {
	ending
	parent     context.Context
	info       observe.AttemptInfo
	stopParent func() bool // guarded by mu
}

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

// cancel ends the context with err, unless it has ended already, and
// forgets the parent.
func (c *attemptCtx) cancel(err error) {
	if !c.end(err) {
		return
	}
	c.mu.Lock()
	stop := c.stopParent
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
}

func (c *attemptCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }

func (c *attemptCtx) Value(key any) any {
	if _, ok := key.(ctxkey.Attempt); ok {
		return &c.info
	}
	return c.parent.Value(key)
}

// hosts reports whether the context of the attempt of launch si is the
// room the call's context lends (attemptctx.Host): the first launch's,
// when the call's context is a Host. Other attempts allocate theirs
// (observe.WithAttempt).
func (c *engine[T]) hosts(si int) bool { return c.host != nil && si == 0 }

// hostAttempt returns the context h lends the first attempt, set to be a
// child of parent carrying info.
func hostAttempt(h attemptctx.Host[observe.AttemptInfo], parent context.Context, info observe.AttemptInfo) context.Context {
	ac := h.FirstAttempt()
	ac.Context, ac.Info = parent, info
	return ac
}
