package regoredis_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Tests run go-redis clients and redis-server processes; no goroutine of
// theirs may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
