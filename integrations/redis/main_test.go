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
// theirs may outlive the tests.
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	goleak.VerifyTestMain(m)
}
