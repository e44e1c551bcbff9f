package regoredis_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// quiet drops go-redis's log lines: the tests kill servers on purpose, and
// the client logging every refused dial would bury the test output.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...interface{}) {}

// Tests run go-redis clients and redis-server processes; no goroutine of
// theirs may outlive the tests, except go-redis's redial probe: after a
// failed dial (the tests kill servers on purpose) the pool probes once a
// second from a goroutine of its own, which sees the closed pool and ends
// only after its current one-second sleep, possibly after the last test.
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}
