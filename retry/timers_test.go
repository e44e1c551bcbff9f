package retry

import (
	"testing"
	"time"
)

// A pooled timer that fired unread, and was stopped, must not hand its
// stale value to the next call that reuses it.
func TestDriverTimerNoStaleFire(t *testing.T) {
	e := NewExecutor(ExecutorOptions{})
	for i := 0; i < 20; i++ {
		var tm driverTimer
		tm.start(e, time.Microsecond)
		time.Sleep(200 * time.Microsecond) // (real time: the pool serves the real clock)
		tm.stop()                          // fired, never read
		if tm.rt != nil || tm.vt != nil {
			t.Fatal("armed after stop")
		}
		var next driverTimer
		next.start(e, time.Hour)
		select {
		case <-next.c():
			t.Fatalf("round %d: a reused timer fired at once (a stale value)", i)
		default:
		}
		next.stop()
	}
	var tm driverTimer
	tm.start(e, time.Microsecond)
	<-tm.c()
	tm.fired()
	if (tm.rt != nil || tm.vt != nil) || tm.c() != nil {
		t.Fatal("armed after it fired")
	}
}
