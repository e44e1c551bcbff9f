package regotest_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/regotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClockFiresInOrder(t *testing.T) {
	c := regotest.NewClock(time.Time{})
	start := c.Now()
	var got []string
	c.AfterFunc(30*time.Millisecond, func() { got = append(got, fmt.Sprint("b@", c.Now().Sub(start))) })
	c.AfterFunc(10*time.Millisecond, func() { got = append(got, fmt.Sprint("a@", c.Now().Sub(start))) })
	stopped := c.AfterFunc(20*time.Millisecond, func() { got = append(got, "never") })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should succeed once")
	}
	tm := c.NewTimer(25 * time.Millisecond)
	c.Advance(20 * time.Millisecond)
	select {
	case <-tm.C():
		t.Fatal("timer fired early")
	default:
	}
	c.Advance(20 * time.Millisecond)
	if at := <-tm.C(); at.Sub(start) != 25*time.Millisecond {
		t.Fatalf("timer fired at %v", at.Sub(start))
	}
	if fmt.Sprint(got) != "[a@10ms b@30ms]" {
		t.Fatalf("got %v", got)
	}
	if c.Now().Sub(start) != 40*time.Millisecond || c.Pending() != 0 {
		t.Fatalf("now %v pending %d", c.Now().Sub(start), c.Pending())
	}
}

func TestClockBlockUntil(t *testing.T) {
	c := regotest.NewClock(time.Time{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-c.NewTimer(time.Second).C()
	}()
	c.BlockUntil(1)
	c.Advance(time.Second)
	wg.Wait()
}

func TestAutoClock(t *testing.T) {
	c := regotest.NewAutoClock(time.Time{})
	start := c.Now()
	fired := false
	c.AfterFunc(time.Second, func() { fired = true })
	<-c.NewTimer(500 * time.Millisecond).C()
	if fired || c.Now().Sub(start) != 500*time.Millisecond {
		t.Fatalf("fired %v at %v", fired, c.Now().Sub(start))
	}
	<-c.NewTimer(time.Second).C() // crosses the AfterFunc at 1s
	if !fired || c.Now().Sub(start) != 1500*time.Millisecond {
		t.Fatalf("fired %v at %v", fired, c.Now().Sub(start))
	}
}

func TestInstantClock(t *testing.T) {
	var c regotest.InstantClock
	if !clock.WallNow(c) || clock.WallNow(regotest.NewClock(time.Time{})) {
		t.Fatal("WallNow: InstantClock's Now is the wall clock's, a virtual clock's is not")
	}
	<-c.NewTimer(time.Hour).C()
	done := make(chan struct{})
	c.AfterFunc(time.Hour, func() { close(done) })
	<-done
	if n := testing.AllocsPerRun(100, func() { c.NewTimer(time.Hour) }); n != 0 {
		t.Fatalf("%v allocs per timer", n)
	}
}

func TestRandIsSeeded(t *testing.T) {
	a, b := regotest.NewRand(7), regotest.NewRand(7)
	for i := 0; i < 10; i++ {
		x, y := a.Float64(), b.Float64()
		if x != y || x < 0 || x >= 1 {
			t.Fatalf("%v %v", x, y)
		}
	}
}
