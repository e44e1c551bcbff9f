package sim_test

import (
	"bytes"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aponysus/rego/clock"
)

// stepClock is a virtual clock for the blocking executor, hedging
// included: time moves only in settle, which fires one timer at a time
// and, before each, waits until every other goroutine of the process is
// blocked. Nothing can then happen until the next timer fires, so the
// executor's goroutines (the caller's, one per attempt, the contexts')
// see every event in one order, the order of the timers: due time, then
// creation. It is the discipline of an event queue imposed on real
// goroutines, so that the blocking executor and the simulator can be
// held to the same records.
//
// A test using it must not run in parallel with others: the goroutines of
// a test running beside it would never settle.
type stepClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*stepTimer
}

var _ clock.Clock = (*stepClock)(nil)

type stepTimer struct {
	c    *stepClock
	when time.Time
	seq  int
	ch   chan time.Time
	f    func()
}

func newStepClock(start time.Time) *stepClock { return &stepClock{now: start} }

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) NewTimer(d time.Duration) clock.Timer {
	return c.add(&stepTimer{ch: make(chan time.Time, 1)}, d)
}

func (c *stepClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	return c.add(&stepTimer{f: f}, d)
}

func (c *stepClock) add(t *stepTimer, d time.Duration) *stepTimer {
	if d < 0 {
		d = 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t.c, t.when, t.seq = c, c.now.Add(d), c.seq
	c.timers = append(c.timers, t)
	return t
}

func (t *stepTimer) C() <-chan time.Time { return t.ch }

func (t *stepTimer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.timers, t)
	if i >= 0 {
		c.timers = slices.Delete(c.timers, i, i+1)
	}
	return i >= 0
}

// next removes and returns the earliest timer due at or before limit,
// moving the clock to its time.
func (c *stepClock) next(limit time.Time) *stepTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return nil
	}
	sort.SliceStable(c.timers, func(i, j int) bool {
		a, b := c.timers[i], c.timers[j]
		if !a.when.Equal(b.when) {
			return a.when.Before(b.when)
		}
		return a.seq < b.seq
	})
	t := c.timers[0]
	if t.when.After(limit) {
		return nil
	}
	c.timers = c.timers[1:]
	if t.when.After(c.now) {
		c.now = t.when
	}
	return t
}

// settle fires timers one at a time, waiting for quiescence before each,
// until done reports true (checked at quiescence) or no timer is due by
// limit; it then moves the clock to limit. It reports whether done did.
func (c *stepClock) settle(limit time.Time, done func() bool) bool {
	for {
		quiesce()
		if done != nil && done() {
			return true
		}
		t := c.next(limit)
		if t == nil {
			break
		}
		if t.f != nil {
			t.f()
		} else {
			t.ch <- t.when
		}
	}
	c.mu.Lock()
	if limit.After(c.now) {
		c.now = limit
	}
	c.mu.Unlock()
	return false
}

// quiesce returns once every goroutine but the caller is blocked (waiting
// on a channel, a lock, a condition): none is running or ready to run.
func quiesce() {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n == len(buf) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if settled(buf[:n]) {
			return
		}
		runtime.Gosched()
	}
}

// settled reads a dump of every goroutine's stack, the caller's first, and
// reports whether all the others are blocked.
func settled(dump []byte) bool {
	first := true
	for _, line := range bytes.Split(dump, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("goroutine ")) {
			continue
		}
		if first {
			first = false
			continue
		}
		i, j := bytes.IndexByte(line, '['), bytes.IndexByte(line, ']')
		if i < 0 || j < i {
			return false
		}
		state := string(line[i+1 : j])
		if k := bytes.IndexByte(line[i+1:j], ','); k >= 0 {
			state = state[:k]
		}
		// A goroutine waiting for a lock is not settled: the holder has
		// released it, or is about to (nothing here blocks holding one),
		// and its wake-up may be on its way.
		switch {
		case state == "running", state == "runnable", state == "syscall", state == "preempted",
			state == "sleep", state == "semacquire", strings.HasPrefix(state, "sync.Mutex"),
			strings.HasPrefix(state, "sync.RWMutex"), strings.HasPrefix(state, "GC"):
			return false
		}
	}
	return true
}

func TestStepClockOrdersEvents(t *testing.T) {
	clk := newStepClock(time.Unix(0, 0))
	var (
		mu  sync.Mutex
		got []string
	)
	log := func(s string) { mu.Lock(); got = append(got, s); mu.Unlock() }
	done := make(chan struct{})
	go func() {
		defer close(done)
		a, b := clk.NewTimer(20*time.Millisecond), clk.NewTimer(10*time.Millisecond)
		clk.AfterFunc(10*time.Millisecond, func() { log("func@10") })
		<-b.C()
		log("b@10")
		<-a.C()
		log("a@20")
		c := clk.NewTimer(time.Hour)
		if !c.Stop() || c.Stop() {
			log("stop")
		}
	}()
	if !clk.settle(time.Unix(0, 0).Add(time.Minute), func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}) {
		t.Fatal("the goroutine never ended")
	}
	if want := "[b@10 func@10 a@20]"; fmtList(got) != want {
		t.Fatalf("events %v, want %s", got, want)
	}
	if n := clk.Now().Sub(time.Unix(0, 0)); n != 20*time.Millisecond {
		t.Fatalf("clock at %v", n)
	}
}

func fmtList(xs []string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x)
	}
	b.WriteByte(']')
	return b.String()
}
