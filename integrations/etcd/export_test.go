package regoetcd

// SetBeforeWatch lets a test run f between a read and the watch that
// follows it (to compact the store there).
func SetBeforeWatch(s *Source, f func(rev int64)) { s.beforeWatch = f }
