package sema

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/clock"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestNoLostSlots: goroutines that take slots on the lock-free path or by
// waiting, and give them back, never exceed the limit, and every waiter
// gets its slot (the wait is an hour: a lost wake-up would hang the test).
func TestNoLostSlots(t *testing.T) {
	var s Sema
	s.Mu.Lock()
	s.SetLimitLocked(3)
	s.Mu.Unlock()
	var inside, peak atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if !s.TryAcquire() {
					s.Mu.Lock()
					o, _, err := s.AcquireLocked(context.Background(), clock.Real{}, time.Hour, 100)
					if err != nil || (o != Admitted && o != Queued) {
						t.Errorf("outcome %v %v", o, err)
						return
					}
				}
				n := inside.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				inside.Add(-1)
				s.Release()
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 3 {
		t.Fatalf("%d slots held at once, limit 3", p)
	}
	if s.Inflight() != 0 || s.waiting.Load() != 0 {
		t.Fatalf("in flight %d, waiting %d", s.Inflight(), s.waiting.Load())
	}
}
