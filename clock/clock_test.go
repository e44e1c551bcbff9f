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
