package retry

import (
	"context"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/policy"
)

// hub is what attempt goroutines share with the coordinator: a buffered
// channel on which an attempt announces its result (never blocks: it holds
// one entry per attempt the call may launch) and, once the call has
// returned, the duty to release and discard late results themselves. The
// channel carries the attempt's launch index and the result waits in res:
// a channel of plain integers is one allocation, a channel of results two.
type hub[T any] struct {
	results chan int
	res     []result[T] // by launch index: written before the index is sent
	discard func(T)
	e       *Executor
	key     policy.PolicyKey
	mu      sync.Mutex
	closed  bool
	// refs counts who may still touch the hub: the caller until its
	// cleanup, and each attempt goroutine until it delivered its result.
	// The last one hands a pooled hub back to its executor's pool.
	refs   atomic.Int32
	pooled bool
	// used is how many of the inline slots (and jobs) the call may have
	// touched, set by the coordinator as it lets go of the hub: a pooled
	// hub's reset clears no more.
	used int
	// hs is the coordinator's hedging state, and slots room for the
	// slots of a call of up to inlineSlots attempts, allocated with the
	// hub; the attempt goroutines never touch them.
	hs    hedgeState
	slots [inlineSlots]slot
	resIn [inlineSlots]result[T]
	// jobs are the attempts' orders, by launch index: the coordinator
	// writes one before it starts the attempt's goroutine, which then
	// only reads it. Passing them as arguments of the go statement would
	// allocate a closure to hold them at every launch.
	jobs   []job[T]
	jobsIn [inlineSlots]job[T]
	// runs are a pooled hub's goroutine bodies, made with the hub and
	// kept with it across calls: starting one allocates nothing.
	runs [inlineSlots]func()
}

// job is what an attempt goroutine needs: the operation, the attempt's
// context and index, and the permits to complete if its result is late.
type job[T any] struct {
	op  invoker[T]
	ctx context.Context
	ai  int
	lg  lateGates
}

// inlineSlots is how many attempts' slots the hub holds: calls that allow
// more allocate theirs apart.
const inlineSlots = 3

// slotsFor returns room for the slots of a call of n attempts.
func (h *hub[T]) slotsFor(n int) []slot {
	if n <= len(h.slots) {
		return h.slots[:n:n]
	}
	return make([]slot, n)
}

// lateGates is what an attempt goroutine needs to complete its permits
// itself when its result arrives after the call returned: its own copy of
// them (the coordinator completes the slot's copy if the result arrives in
// time; the hub's closed flag says which), the Attempt they admitted, and
// the clock it needs.
type lateGates struct {
	perm   permits
	a      gate.Attempt
	start  time.Time
	timing int8
}

// lateGatesOf sets *lg to what the attempt of slot s needs to complete
// its permits itself; lg is zero (a pooled hub's jobs are cleared when
// the hub is handed back) and stays so when s holds none.
func (c *engine[T]) lateGatesOf(s *slot, lg *lateGates) {
	if s.perm.n == 0 {
		return
	}
	*lg = lateGates{perm: s.perm, a: c.slotAttempt(s), start: s.start, timing: c.plan(s.isHedge).timing}
}

// newHub returns a hub for a call of up to maxAttempts attempts. Hubs of
// calls of up to inlineSlots attempts are reused, through the executor's
// pool: a hub and its channel are most of what a hedged call allocates.
func newHub[T any](e *Executor, key policy.PolicyKey, maxAttempts int, discard func(T)) *hub[T] {
	var h *hub[T]
	if maxAttempts <= inlineSlots {
		h, _ = e.hubs.Get().(*hub[T]) // (a hub of another T is dropped)
		if h == nil {
			h = newPooledHub[T]()
		}
		h.res = h.resIn[:maxAttempts:maxAttempts]
		h.jobs = h.jobsIn[:maxAttempts:maxAttempts]
	} else {
		h = &hub[T]{results: make(chan int, maxAttempts), res: make([]result[T], maxAttempts), jobs: make([]job[T], maxAttempts)}
	}
	h.discard, h.e, h.key = discard, e, key
	h.refs.Store(1)
	return h
}

// newPooledHub makes a hub for the pool, with its goroutine bodies. (Apart
// from newHub: a variable the bodies captured and newHub assigns again
// would be moved to the heap on every call.)
func newPooledHub[T any]() *hub[T] {
	h := &hub[T]{results: make(chan int, inlineSlots), pooled: true}
	for i := range h.runs {
		si := i
		h.runs[i] = func() { h.run(si) }
	}
	return h
}

// unref drops one reference to the hub; the last one returns a pooled hub
// to the pool, emptied (its channel is: every result sent on it was taken).
func (h *hub[T]) unref() {
	if h.refs.Add(-1) != 0 || !h.pooled {
		return
	}
	e := h.e
	h.reset()
	e.hubs.Put(h)
}

// reset empties a pooled hub for its next call, in place: a hub built
// anew in a temporary and copied would take a frame larger than an attempt
// goroutine's initial stack, which would grow it at every call. Its
// channel is empty (every result sent on it was taken), and so are the
// results (take clears them).
func (h *hub[T]) reset() {
	n := h.used
	if n > inlineSlots {
		n = inlineSlots
	}
	clear(h.slots[:n])
	clear(h.jobsIn[:n])
	h.hs = hedgeState{}
	h.res, h.jobs, h.discard, h.e = nil, nil, nil, nil
	h.key = policy.PolicyKey{}
	h.closed, h.used = false, 0
}

// take returns the result announced as launch index si, and forgets it.
func (h *hub[T]) take(si int) result[T] {
	r := h.res[si]
	h.res[si] = result[T]{}
	return r
}

// jobOf returns the order of the attempt of launch index si, to be filled
// before start.
func (h *hub[T]) jobOf(si int) *job[T] { return &h.jobs[si] }

// start starts the goroutine of the attempt of launch index si, whose job
// the coordinator has filled.
func (h *hub[T]) start(si int) {
	h.refs.Add(1)
	if si < len(h.runs) && h.runs[si] != nil {
		go h.runs[si]()
		return
	}
	go h.run(si)
}

// run is the body of an attempt goroutine.
func (h *hub[T]) run(si int) {
	j := &h.jobs[si]
	r := result[T]{slot: si, ai: j.ai}
	done := false
	defer func() {
		if !done {
			if v := recover(); v != nil {
				r.pe = &PanicError{Value: v, Stack: stack(), Attempt: j.ai, Source: SourceOperation}
			} else {
				r.err = errGoexit
			}
		}
		h.deliver(r, &j.lg)
	}()
	r.val, r.err = j.op.invoke(j.ctx)
	done = true
}

func (h *hub[T]) deliver(r result[T], lg *lateGates) {
	h.mu.Lock()
	if !h.closed {
		h.res[r.slot] = r
		h.results <- r.slot
		h.mu.Unlock()
		h.unref()
		return
	}
	h.mu.Unlock()
	if r.pe != nil || lg.perm.n > 0 || h.discard != nil {
		// (Only then: late's frame would grow the goroutine's stack.)
		h.late(&r, lg)
	}
	h.unref()
}

// late cleans up after a result that arrived once the call had returned.
// It is apart from deliver so that the common path, a result in time,
// keeps a small frame: an attempt goroutine then runs in its initial
// stack instead of growing it.
func (h *hub[T]) late(r *result[T], lg *lateGates) {
	// The call has returned: this late result is ours to clean up. Nothing
	// here may panic out of a library goroutine, and no panic is dropped
	// without a trace.
	if r.pe != nil {
		h.e.latePanic(h.key, r.pe)
	}
	for lg.perm.n > 0 {
		hp := lg.perm.pop()
		res := gate.Result{Verdict: gate.Cancelled, Attempt: lg.a}
		if lg.timing == timeAlways {
			res.End = h.e.clk.Now()
			if !lg.start.IsZero() {
				res.Latency = res.End.Sub(lg.start)
			}
		}
		h.e.lateSafely(h.key, hp.src, r.ai, func() { hp.p.Done(res) })
	}
	if r.pe == nil && h.discard != nil {
		h.e.lateSafely(h.key, SourceDiscard, r.ai, func() { h.discard(r.val) })
	}
}

// lateSafely calls f, a hook of kind src about attempt ai of a call of key
// that has already returned (from an attempt goroutine, or a Call's
// driver); a panic is reported as a late one.
func (e *Executor) lateSafely(key policy.PolicyKey, src string, ai int, f func()) {
	defer func() {
		if v := recover(); v != nil {
			e.latePanic(key, &PanicError{Value: v, Stack: stack(), Attempt: ai, Source: src})
		}
	}()
	f()
}

// close marks the call as returned and hands back the results that had
// already arrived.
func (h *hub[T]) close() []result[T] {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	var out []result[T]
	for {
		select {
		case si := <-h.results:
			out = append(out, h.take(si))
		default:
			return out
		}
	}
}

func stack() []byte { return debug.Stack() }
