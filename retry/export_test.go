package retry

// SetConcurrent makes e run every attempt on its own goroutine, the way it
// does when hedging is on, so that tests can run one scenario in both modes.
func SetConcurrent(e *Executor, on bool) { e.forceConcurrent = on }
