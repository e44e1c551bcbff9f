package sim

import (
	"container/heap"
	"math/rand"
	"sync"
	"time"

	"github.com/aponysus/rego/clock"
)

// Epoch is the virtual time at which every Sim starts.
var Epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Sim is a discrete-event simulation: a queue of events ordered by virtual
// time (ties in scheduling order), a virtual clock that jumps from event to
// event, and a seeded random source. Events run one at a time in the
// goroutine that calls Run; they may schedule more events.
type Sim struct {
	mu   sync.Mutex // guards now, q and seq: the clock may be read from anywhere
	now  time.Time
	q    eventQueue
	seq  uint64
	rng  *rand.Rand
	clk  *Clock
	runs int64
}

// New returns a simulation at Epoch whose randomness derives from seed.
func New(seed int64) *Sim {
	s := &Sim{now: Epoch, rng: rand.New(rand.NewSource(seed))}
	s.clk = &Clock{s: s}
	return s
}

// Now returns the virtual time.
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Elapsed returns the virtual time since Epoch.
func (s *Sim) Elapsed() time.Duration { return s.Now().Sub(Epoch) }

// Clock returns the simulation's virtual clock.
func (s *Sim) Clock() *Clock { return s.clk }

// Rand returns the simulation's master random source. Models draw from
// streams split off it with NewRand, so that adding a draw in one model
// does not shift the numbers another sees.
func (s *Sim) Rand() *rand.Rand { return s.rng }

// NewRand returns a new random stream seeded from the master source.
func (s *Sim) NewRand() *rand.Rand { return rand.New(rand.NewSource(s.rng.Int63())) }

// Events returns how many events have run.
func (s *Sim) Events() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs
}

// After schedules f to run d from now (at once, after the events already
// due, when d <= 0). The returned function cancels it and reports whether
// it had not yet run.
func (s *Sim) After(d time.Duration, f func()) (cancel func() bool) {
	if d < 0 {
		d = 0
	}
	s.mu.Lock()
	ev := s.pushLocked(s.now.Add(d), f)
	s.mu.Unlock()
	return func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if ev.done {
			return false
		}
		ev.done = true
		return true
	}
}

// At schedules f at virtual time t (at now when t is in the past).
func (s *Sim) At(t time.Time, f func()) {
	s.mu.Lock()
	if t.Before(s.now) {
		t = s.now
	}
	s.pushLocked(t, f)
	s.mu.Unlock()
}

func (s *Sim) pushLocked(t time.Time, f func()) *event {
	s.seq++
	ev := &event{at: t, seq: s.seq, f: f}
	heap.Push(&s.q, ev)
	return ev
}

// Step runs the next event, moving the clock to its time, and reports
// whether there was one.
func (s *Sim) Step() bool { return s.step(time.Time{}, false) }

func (s *Sim) step(limit time.Time, bounded bool) bool {
	s.mu.Lock()
	for {
		if len(s.q) == 0 {
			s.mu.Unlock()
			return false
		}
		ev := s.q[0]
		if bounded && ev.at.After(limit) {
			s.mu.Unlock()
			return false
		}
		heap.Pop(&s.q)
		if ev.done {
			continue
		}
		ev.done = true
		s.now = ev.at
		s.runs++
		s.mu.Unlock()
		ev.f()
		return true
	}
}

// Run runs events until none are left.
func (s *Sim) Run() {
	for s.step(time.Time{}, false) {
	}
}

// RunUntil runs every event due at or before t, then sets the clock to t
// (if it is not already later).
func (s *Sim) RunUntil(t time.Time) {
	for s.step(t, true) {
	}
	s.mu.Lock()
	if t.After(s.now) {
		s.now = t
	}
	s.mu.Unlock()
}

// RunFor runs the simulation for d of virtual time.
func (s *Sim) RunFor(d time.Duration) { s.RunUntil(s.Now().Add(d)) }

type event struct {
	at   time.Time
	seq  uint64
	f    func()
	done bool
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at.Equal(q[j].at) {
		return q[i].seq < q[j].seq
	}
	return q[i].at.Before(q[j].at)
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	n := len(old)
	ev := old[n-1]
	old[n-1] = nil
	*q = old[:n-1]
	return ev
}

// Clock is a Sim's virtual clock; it implements clock.Clock. Timers fire
// as simulation events, and AfterFunc callbacks run inline in the event
// loop rather than in a goroutine of their own.
type Clock struct{ s *Sim }

var _ clock.Clock = (*Clock)(nil)

// Now returns the simulation's virtual time.
func (c *Clock) Now() time.Time { return c.s.Now() }

// NewTimer returns a timer that delivers the virtual time on its channel
// when the simulation reaches now+d.
func (c *Clock) NewTimer(d time.Duration) clock.Timer {
	t := &timer{ch: make(chan time.Time, 1)}
	t.cancel = c.s.After(d, func() { t.ch <- c.s.Now() })
	return t
}

// AfterFunc runs f in the event loop when the simulation reaches now+d.
func (c *Clock) AfterFunc(d time.Duration, f func()) clock.Timer {
	t := &timer{}
	t.cancel = c.s.After(d, f)
	return t
}

type timer struct {
	ch     chan time.Time
	cancel func() bool
}

func (t *timer) C() <-chan time.Time { return t.ch }
func (t *timer) Stop() bool          { return t.cancel() }
