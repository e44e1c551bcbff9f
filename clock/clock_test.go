package clock_test

import (
	"testing"
	"time"

	"github.com/aponysus/rego/clock"
)

func TestReal(t *testing.T) {
	var c clock.Clock = clock.Real{}
	if !clock.IsReal(c) || !clock.IsReal(nil) {
		t.Fatal("IsReal")
	}
	if d := time.Since(c.Now()); d < 0 || d > time.Minute {
		t.Fatalf("Now is off by %v", d)
	}
	tm := c.NewTimer(time.Millisecond)
	<-tm.C()
	if tm.Stop() {
		t.Fatal("Stop after firing reported true")
	}
	done := make(chan struct{})
	af := c.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
	if af.C() != nil {
		t.Fatal("AfterFunc timer has a channel")
	}
	if !c.AfterFunc(time.Hour, func() {}).Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
}

// wallTimersElsewhere is a clock whose Now is the wall clock but whose
// timers are its own, and says so.
type wallTimersElsewhere struct{ clock.Real }

func (wallTimersElsewhere) NowIsWall() bool { return true }

// notWall has the method but says no.
type notWall struct{ clock.Real }

func (notWall) NowIsWall() bool { return false }

type virtual struct{ clock.Real }

func (virtual) Now() time.Time { return time.Unix(0, 0) }

func TestWallNow(t *testing.T) {
	for _, tc := range []struct {
		c    clock.Clock
		want bool
	}{
		{nil, true},
		{clock.Real{}, true},
		{wallTimersElsewhere{}, true},
		{notWall{}, false},
		{virtual{}, false},
	} {
		if got := clock.WallNow(tc.c); got != tc.want {
			t.Errorf("WallNow(%T) = %v, want %v", tc.c, got, tc.want)
		}
	}
}
