package regohttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/clock"
)

// DefaultDrainLimit is the number of bytes of a failed response's body
// read at once when Options.DrainLimit is zero. A small error body read to
// its end frees its connection for the next attempt; a larger one costs
// more to read than a new connection.
const DefaultDrainLimit = 4 << 10

// body wraps the body of a response that is still streaming from the
// server. The request of an attempt runs under a context of its own (see
// call.attempt) that outlives the attempt, so that the body can be read
// after the executor has cancelled the attempt's context; closing the body
// releases that context.
type body struct {
	io.Reader // the unread part; rc itself unless a prefix was read
	rc        io.ReadCloser
	release   func() // cancels the request context; called once
	once      sync.Once
	err       error
}

// Close closes the underlying body, then releases the request context;
// closing first lets the base transport keep a fully read connection.
func (b *body) Close() error {
	b.once.Do(func() {
		b.err = b.rc.Close()
		b.release()
	})
	return b.err
}

// rwBody is a body that is also an io.Writer: the body of a
// 101 Switching Protocols response, which net/http makes writable.
type rwBody struct{ *body }

func (b rwBody) Write(p []byte) (int, error) { return b.rc.(io.Writer).Write(p) }

// wrapBody installs the body wrapper on resp; r is what is left to read
// (nil: all of resp.Body).
func wrapBody(resp *http.Response, r io.Reader, release func()) {
	rc := resp.Body
	if r == nil {
		r = rc
	}
	b := &body{Reader: r, rc: rc, release: release}
	if _, ok := rc.(io.Writer); ok {
		resp.Body = rwBody{b}
	} else {
		resp.Body = b
	}
}

// DefaultDrainTimeout is how long the Transport waits for the early read
// of a failed response's body when Options.DrainTimeout is zero: long
// enough for a small error body sent with its headers, short enough that
// a server stalling mid-body costs the call little.
const DefaultDrainTimeout = 100 * time.Millisecond

// ErrDrainTimeout is matched (errors.Is) by the error the body of a failed
// response yields after the bytes that arrived when the body did not
// arrive whole within Options.DrainTimeout: the Transport closed it, and
// its connection, so that the call could go on.
var ErrDrainTimeout = errors.New("regohttp: failed response body cut off after the drain timeout")

// drain reads the first bytes of a failed response's body on the
// caller's goroutine, as soon as the response arrives, under a watchdog
// that closes the body if the reading outlasts the drain timeout: closing
// a body makes a Read blocked in it return (net/http's bodies do), so a
// stalled body cannot hold the call. Reading inline costs a body that is
// already here (the common case: a short error body sent with its
// headers) no goroutine and no hand-over between goroutines, as reading
// on a goroutine of its own did.
//
// A drain is also the body's replacement: it serves the bytes read, then
// the end of the body, the error that stopped the reading, ErrDrainTimeout
// if the watchdog cut the body off, or (past the limit) the rest of the
// original body.
type drain struct {
	rc    io.ReadCloser
	limit int64

	small [smallDrain]byte // buf's storage for short bodies

	// se is the attempt's error, allocated with the drain: a failed
	// response whose body is drained costs one allocation, not two.
	se StatusError

	// state is drainReading until the reading or the watchdog, whichever
	// is first, moves it on: the watchdog closes the body only if it wins.
	state atomic.Uint32
	// The watchdog's: its tick count when the drain started, and the
	// drain's place in its list (guarded by its lock).
	since      uint64
	prev, next *drain
	watched    bool

	buf []byte // read so far
	off int    // served so far
	err error  // what ended the reading: io.EOF, an error, or nil (limit)
	// closedByWatchdog: the watchdog closed the original body, which no
	// one else must close.
	closedByWatchdog bool
}

// The values of drain.state.
const (
	drainReading uint32 = iota
	drainDone           // the reading ended first: the body is left alone
	drainCut            // the watchdog fired first: the body is closed
)

// smallDrain is the size of body read without a buffer of its own: error
// bodies ("Service Unavailable") are usually shorter.
const smallDrain = 64

// newDrain prepares the reading of up to limit bytes of body; size is the
// body's announced length (-1: unknown), which sizes the buffer.
func newDrain(body io.ReadCloser, limit, size int64) *drain {
	capacity := int64(512)
	if size >= 0 && size < limit {
		capacity = size + 1 // room to meet the end
	}
	if capacity > limit+1 {
		capacity = limit + 1
	}
	d := &drain{rc: body, limit: limit}
	if capacity <= smallDrain {
		d.buf = d.small[:0:capacity]
	} else {
		d.buf = make([]byte, 0, capacity)
	}
	return d
}

// fill reads until the end of the body, an error or past the limit, for
// at most timeout (negative: without bound) under w, and reports whether
// it met the end of the body within the limit. When the timeout expires
// first, w closes the body, and the drain serves what it read, then
// ErrDrainTimeout.
func (d *drain) fill(w *watchdog, clk clock.Clock, timeout time.Duration) bool {
	if timeout >= 0 {
		w.watch(d, clk, timeout)
	}
	for int64(len(d.buf)) <= d.limit {
		if len(d.buf) == cap(d.buf) {
			grown := 2 * int64(cap(d.buf))
			if grown > d.limit+1 {
				grown = d.limit + 1
			}
			d.buf = append(make([]byte, 0, grown), d.buf...)
		}
		n, err := d.rc.Read(d.buf[len(d.buf):cap(d.buf)])
		d.buf = d.buf[:len(d.buf)+n]
		if err != nil {
			d.err = err
			break
		}
	}
	if timeout >= 0 {
		w.unwatch(d)
	}
	complete := d.err == io.EOF && int64(len(d.buf)) <= d.limit
	if !d.state.CompareAndSwap(drainReading, drainDone) {
		// The watchdog closed the body (or is closing it): unless the
		// reading met the end first, whatever it met last is the effect
		// of that.
		d.closedByWatchdog = true
		if !complete {
			d.err = ErrDrainTimeout
		}
	}
	return complete
}

// cut reports whether the watchdog closed the body. Only the goroutine
// that called fill may ask, once fill has returned.
func (d *drain) cut() bool { return d.err == ErrDrainTimeout }

// Read serves the bytes read, then whatever followed them.
func (d *drain) Read(p []byte) (int, error) {
	if d.off < len(d.buf) {
		n := copy(p, d.buf[d.off:])
		d.off += n
		return n, nil
	}
	if d.err != nil {
		return 0, d.err
	}
	return d.rc.Read(p)
}

// Close does nothing: drain replaces a body alone only once the original
// has been closed; otherwise the body wrapper, which closes the original,
// is in front of it.
func (d *drain) Close() error { return nil }

// discardResponse closes a response the caller will not see: a failed
// attempt superseded by a later one, or a losing hedge, which may arrive
// after RoundTrip has returned. The body of a failed response was already
// read (see call.attempt), and a losing hedge's body may be large or slow,
// so nothing is read here. It is safe to call from any goroutine, and
// with nil.
func discardResponse(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
}

// releaser returns the function that cancels a request context and
// detaches it from the caller's context.
func releaser(cancel context.CancelCauseFunc, stop func() bool) func() {
	return func() {
		stop()
		cancel(errBodyClosed)
	}
}

// errBodyClosed is the cause of a request context released by closing
// the response body.
var errBodyClosed = errors.New("regohttp: response body closed")
