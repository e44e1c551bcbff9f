package retry

import "sync"

// ending is the end of the executor's own contexts (an attempt's, and a
// timeout's on a virtual clock): its error, a Done channel made only when
// someone asks for it, and the functions to run as it ends.
type ending struct {
	mu     sync.Mutex
	done   chan struct{}
	err    error
	afters afterFuncs
}

// closedDone is the Done channel of a context that ended before anyone
// asked for its channel.
var closedDone = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// end ends the context with err and runs the functions registered with
// AfterFunc; false means it had ended already.
func (e *ending) end(err error) bool {
	e.mu.Lock()
	if e.err != nil {
		e.mu.Unlock()
		return false
	}
	e.err = err
	if e.done == nil {
		e.done = closedDone
	} else {
		close(e.done)
	}
	run := e.afters.take()
	e.mu.Unlock()
	run.run()
	return true
}

func (e *ending) Done() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done == nil {
		e.done = make(chan struct{})
	}
	return e.done
}

func (e *ending) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// AfterFunc runs f when the context ends, in the goroutine that ends it
// (at once if it has ended), and returns a function that stops it. The
// context package uses it for the contexts derived from the executor's
// (context.AfterFunc's own functions still run in goroutines of their
// own): they end with it, synchronously (on a virtual clock, as the clock
// reaches the deadline), and without a goroutine of their own while they
// wait.
func (e *ending) AfterFunc(f func()) func() bool {
	e.mu.Lock()
	if e.err != nil {
		e.mu.Unlock()
		f()
		return func() bool { return false }
	}
	stop := e.afters.add(&e.mu, f)
	e.mu.Unlock()
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
