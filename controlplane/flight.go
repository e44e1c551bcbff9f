package controlplane

import "sync"

// flight is one load in progress. done is closed when it has finished;
// err is its result, readable once done is closed.
type flight struct {
	done chan struct{}
	err  error
}

// group runs at most one load at a time and lets every caller that wants
// a load while one is running wait for that one instead of starting its
// own: concurrent misses cost one request, not one each.
//
// The load runs in a goroutine of its own, counted in wg, so that a caller
// that stops waiting (its context ended) does not cancel it for the
// others, and so that Close can wait for it.
type group struct {
	mu     sync.Mutex
	cur    *flight
	closed bool
	wg     sync.WaitGroup
}

// closedFlight is what start returns once the group is closed.
func closedFlight(err error) *flight {
	f := &flight{done: make(chan struct{}), err: err}
	close(f.done)
	return f
}

// start returns the load in progress, or starts fn as a new one.
func (g *group) start(fn func() error, errClosed error) *flight {
	f, _ := g.startIf(fn, errClosed, nil)
	return f
}

// startIf is start, except that when no load is in progress it starts one
// only if allow (nil: always) says so, deciding under the group's lock so
// that no caller can see "nothing running" between another caller's
// decision to start a load and its start.
func (g *group) startIf(fn func() error, errClosed error, allow func() bool) (*flight, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return closedFlight(errClosed), true
	}
	if g.cur != nil {
		return g.cur, true
	}
	if allow != nil && !allow() {
		return nil, false
	}
	f := &flight{done: make(chan struct{})}
	g.cur = f
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f.err = fn()
		g.mu.Lock()
		g.cur = nil
		g.mu.Unlock()
		close(f.done)
	}()
	return f, true
}

// running reports whether a load is in progress.
func (g *group) running() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cur != nil
}

// close refuses new loads and waits for the one in progress.
func (g *group) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}
