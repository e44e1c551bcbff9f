package regoredis_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// server is a redis-server process a test started on a loopback port.
type server struct {
	tb    testing.TB
	bin   string
	port  int
	extra []string
	cmd   *exec.Cmd
	done  chan struct{}
}

// redisBinary finds redis-server. Without it a test is skipped, loudly,
// unless CI is set: then the test fails, so that CI cannot pass without
// running the Redis tests.
func redisBinary(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err == nil {
		return bin
	}
	msg := "redis-server not found on PATH (Debian: apt-get install redis-server): the Redis tests cannot run"
	if os.Getenv("CI") != "" {
		tb.Fatal(msg + "; CI is set, so this is a failure")
	}
	fmt.Fprintln(os.Stderr, "WARNING: "+msg+"; SKIPPING them")
	tb.Skip(msg)
	return ""
}

// startRedis starts a redis-server without persistence on a free loopback
// port, with extra configuration arguments, and stops it when the test
// ends.
func startRedis(tb testing.TB, extra ...string) *server {
	tb.Helper()
	s := &server{tb: tb, bin: redisBinary(tb), extra: extra}
	var err error
	for try := 0; try < 5; try++ {
		s.port = freePort(tb)
		if err = s.start(); err == nil {
			tb.Cleanup(s.kill)
			return s
		}
	}
	tb.Fatalf("starting redis-server: %v", err)
	return nil
}

func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// start runs the process and waits until it answers PING.
func (s *server) start() error {
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"}, s.extra...)
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done

	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server on port %d exited at start", s.port)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("redis-server on port %d did not answer: %w", s.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the process at once and waits for it to exit.
func (s *server) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// restart starts the process again on the same port.
func (s *server) restart() {
	s.tb.Helper()
	var err error
	for try := 0; try < 50; try++ {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond) // the port may linger a moment
	}
	s.tb.Fatalf("restarting redis-server: %v", err)
}

// client returns a go-redis client of s, closed when the test ends.
func (s *server) client(tb testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), ContextTimeoutEnabled: true})
	tb.Cleanup(func() { c.Close() })
	return c
}
