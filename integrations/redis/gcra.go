package regoredis

import "sync/atomic"

// gcraStep is the generic cell rate algorithm on integer microseconds, the
// same steps as gcra.lua: tat is the theoretical arrival time, interval the
// microseconds per attempt, tau the tolerance (burst * interval). It
// admits cost attempts at now when the new arrival time stays within tau
// of now, and returns the new tat; otherwise it returns how long until
// they would be admitted.
func gcraStep(tat, now, interval, tau, cost int64) (next int64, ok bool, wait int64) {
	if tat < now {
		tat = now
	}
	next = tat + cost*interval
	if over := next - now - tau; over > 0 {
		return tat, false, over
	}
	return next, true, 0
}

// localGCRA is gcraStep on one process's state, safe for concurrent use:
// the limiter's FallbackLocal.
type localGCRA struct {
	interval, tau int64
	tat           atomic.Int64
}

func (g *localGCRA) take(now, cost int64) (ok bool, wait int64) {
	for {
		cur := g.tat.Load()
		next, ok, wait := gcraStep(cur, now, g.interval, g.tau, cost)
		if !ok {
			return false, wait
		}
		if g.tat.CompareAndSwap(cur, next) {
			return true, 0
		}
	}
}
