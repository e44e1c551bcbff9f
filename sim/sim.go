package sim

import (
	"math"
	"math/rand"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/clock"
)

// Epoch is the virtual time at which every Sim starts.
var Epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Sim is a discrete-event simulation: a queue of events ordered by virtual
// time (ties in scheduling order), a virtual clock that jumps from event to
// event, and a seeded random source. Events run one at a time in the
// goroutine that calls Run; they may schedule more events. Scheduling and
// running must happen in that goroutine (or before Run starts); reading the
// time is safe from anywhere.
type Sim struct {
	now  atomic.Int64 // virtual nanoseconds since Epoch
	q    eventQueue
	seq  uint64
	rng  *rand.Rand
	clk  *Clock
	runs int64
}

// New returns a simulation at Epoch whose randomness derives from seed.
func New(seed int64) *Sim {
	s := &Sim{rng: rand.New(rand.NewSource(seed))}
	s.clk = &Clock{s: s}
	return s
}

// Now returns the virtual time.
func (s *Sim) Now() time.Time { return Epoch.Add(time.Duration(s.now.Load())) }

// Elapsed returns the virtual time since Epoch.
func (s *Sim) Elapsed() time.Duration { return time.Duration(s.now.Load()) }

// Clock returns the simulation's virtual clock.
func (s *Sim) Clock() *Clock { return s.clk }

// Rand returns the simulation's master random source. Models draw from
// streams split off it with NewRand, so that adding a draw in one model
// does not shift the numbers another sees.
func (s *Sim) Rand() *rand.Rand { return s.rng }

// NewRand returns a new random stream seeded from the master source.
func (s *Sim) NewRand() *rand.Rand { return rand.New(rand.NewSource(s.rng.Int63())) }

// Events returns how many events have run.
func (s *Sim) Events() int64 { return s.runs }

// Event is a scheduled event.
type Event struct {
	at   int64
	seq  uint64
	f    func()
	done bool
}

// Cancel stops the event from running and reports whether it had not run
// yet.
func (e *Event) Cancel() bool {
	if e.done {
		return false
	}
	e.done = true
	return true
}

// After schedules f to run d from now (at once, after the events already
// due, when d <= 0).
func (s *Sim) After(d time.Duration, f func()) *Event {
	if d < 0 {
		d = 0
	}
	return s.push(s.now.Load()+int64(d), f)
}

// At schedules f at virtual time t (at now when t is in the past).
func (s *Sim) At(t time.Time, f func()) *Event {
	at := int64(t.Sub(Epoch))
	if now := s.now.Load(); at < now {
		at = now
	}
	return s.push(at, f)
}

func (s *Sim) push(at int64, f func()) *Event {
	s.seq++
	ev := &Event{at: at, seq: s.seq, f: f}
	s.q.push(ev)
	return ev
}

// Step runs the next event, moving the clock to its time, and reports
// whether there was one.
func (s *Sim) Step() bool { return s.step(math.MaxInt64) }

func (s *Sim) step(limit int64) bool {
	for {
		if len(s.q) == 0 {
			return false
		}
		ev := s.q[0]
		if ev.at > limit {
			return false
		}
		s.q.pop()
		if ev.done {
			continue
		}
		ev.done = true
		s.now.Store(ev.at)
		s.runs++
		ev.f()
		return true
	}
}

// Run runs events until none are left.
func (s *Sim) Run() {
	for s.step(math.MaxInt64) {
	}
}

// RunUntil runs every event due at or before t, then sets the clock to t
// (if it is not already later).
func (s *Sim) RunUntil(t time.Time) {
	limit := int64(t.Sub(Epoch))
	for s.step(limit) {
	}
	if limit > s.now.Load() {
		s.now.Store(limit)
	}
}

// RunFor runs the simulation for d of virtual time.
func (s *Sim) RunFor(d time.Duration) { s.RunUntil(s.Now().Add(d)) }

// eventQueue is a binary min-heap of events by (at, seq).
type eventQueue []*Event

func (q eventQueue) less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}

func (q *eventQueue) push(ev *Event) {
	*q = append(*q, ev)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *eventQueue) pop() {
	h := *q
	n := len(h) - 1
	h[0] = h[n]
	h[n] = nil
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
}

// Clock is a Sim's virtual clock; it implements clock.Clock. Now is safe
// to call from anywhere; timers must be made, and stopped, from the event
// loop's goroutine. Timers fire as simulation events, and AfterFunc
// callbacks run inline in the event loop rather than in a goroutine of
// their own.
type Clock struct{ s *Sim }

var _ clock.Clock = (*Clock)(nil)

// Now returns the simulation's virtual time.
func (c *Clock) Now() time.Time { return c.s.Now() }

// NewTimer returns a timer that delivers the virtual time on its channel
// when the simulation reaches now+d.
func (c *Clock) NewTimer(d time.Duration) clock.Timer {
	t := &timer{ch: make(chan time.Time, 1)}
	t.ev = c.s.After(d, func() { t.ch <- c.s.Now() })
	return t
}

// AfterFunc runs f in the event loop when the simulation reaches now+d.
func (c *Clock) AfterFunc(d time.Duration, f func()) clock.Timer {
	t := &timer{}
	t.ev = c.s.After(d, f)
	return t
}

type timer struct {
	ch chan time.Time
	ev *Event
}

func (t *timer) C() <-chan time.Time { return t.ch }
func (t *timer) Stop() bool          { return t.ev.Cancel() }
