package regohttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"sync"
	"time"
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

// drain reads the first bytes of a failed response's body on a goroutine
// of its own, so that the attempt can stop waiting for a body that stalls
// without cutting it off. It is also the body's replacement: it serves
// the bytes read so far as soon as they are there, then, once the reading
// is over, the end of the body, the error that stopped the reading, or
// (past the limit) the rest of the original body.
type drain struct {
	rc    io.Reader
	limit int64

	small [smallDrain]byte // buf's storage for short bodies

	// se is the attempt's error, allocated with the drain: a failed
	// response whose body is drained costs one allocation, not two.
	se StatusError

	mu sync.Mutex
	// more gets a token after each chunk read, and at the end. It is
	// made by the first to wait (waitChan): a short body that is already
	// here is read before anyone waits, and needs none.
	more    chan struct{}
	buf     []byte // read so far
	off     int    // served so far
	running bool
	yield   bool  // a reader waits: stop after the current read
	err     error // what ended the reading: io.EOF, an error, or nil (limit, yield)
}

// smallDrain is the size of body read without a buffer of its own: error
// bodies ("Service Unavailable") are usually shorter.
const smallDrain = 64

// startDrain starts reading up to limit bytes of rc; size is the body's
// announced length (-1: unknown), which sizes the buffer.
func startDrain(rc io.Reader, limit, size int64) *drain {
	capacity := int64(512)
	if size >= 0 && size < limit {
		capacity = size + 1 // room to meet the end
	}
	if capacity > limit+1 {
		capacity = limit + 1
	}
	d := &drain{rc: rc, limit: limit, running: true}
	if capacity <= smallDrain {
		d.buf = d.small[:0:capacity]
	} else {
		d.buf = make([]byte, 0, capacity)
	}
	go d.run()
	return d
}

func (d *drain) run() {
	for {
		d.mu.Lock()
		if d.yield || int64(len(d.buf)) > d.limit {
			d.running = false
			more := d.more
			d.mu.Unlock()
			signal(more)
			return
		}
		if len(d.buf) == cap(d.buf) {
			grown := 2 * int64(cap(d.buf))
			if grown > d.limit+1 {
				grown = d.limit + 1
			}
			d.buf = append(make([]byte, 0, grown), d.buf...)
		}
		spare := d.buf[len(d.buf):cap(d.buf)]
		d.mu.Unlock()
		// Only this goroutine writes past len(d.buf); readers copy
		// from below it.
		n, err := d.rc.Read(spare)
		d.mu.Lock()
		d.buf = d.buf[:len(d.buf)+n]
		if err != nil {
			d.err, d.running = err, false
		}
		more := d.more
		d.mu.Unlock()
		signal(more)
		if err != nil {
			return
		}
	}
}

// signal leaves a token in more, if there is a more.
func signal(more chan struct{}) {
	select {
	case more <- struct{}{}:
	default:
	}
}

// waitChan returns the channel on which the reading signals its
// progress, making it if need be. d.mu must be held.
func (d *drain) waitChan() chan struct{} {
	if d.more == nil {
		d.more = make(chan struct{}, 1)
	}
	return d.more
}

// settle waits up to timeout (negative: without bound) for the reading
// to be over, and reports whether it met the end of the body within the
// limit. It returns false at once when the timeout expires.
func (d *drain) settle(timeout time.Duration) bool {
	// The reading goroutine is next in line on this P: yielding once lets
	// it read a body that is already here (the common case: a short
	// error body that came with the headers) without arming a timer.
	runtime.Gosched()
	d.mu.Lock()
	over, complete := !d.running, d.completeLocked()
	d.mu.Unlock()
	if over {
		return complete
	}
	var expired <-chan time.Time // nil: no bound
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	for {
		d.mu.Lock()
		if !d.running {
			complete := d.completeLocked()
			d.mu.Unlock()
			return complete
		}
		more := d.waitChan()
		d.mu.Unlock()
		select {
		case <-more:
		case <-expired:
			return false
		}
	}
}

// completeLocked reports whether the reading is over and met the end of
// the body within the limit. d.mu must be held.
func (d *drain) completeLocked() bool {
	return !d.running && d.err == io.EOF && int64(len(d.buf)) <= d.limit
}

// Read serves the bytes read so far, waiting for the next ones if there
// are none yet, and once the reading is over whatever follows them.
func (d *drain) Read(p []byte) (int, error) {
	for {
		d.mu.Lock()
		if d.off < len(d.buf) {
			n := copy(p, d.buf[d.off:])
			d.off += n
			d.mu.Unlock()
			return n, nil
		}
		if !d.running {
			err := d.err
			d.mu.Unlock()
			if err != nil {
				return 0, err
			}
			return d.rc.Read(p)
		}
		// Nothing new yet: the reader takes over from the goroutine
		// after its current read, which is what the reader would wait
		// for on the body itself.
		d.yield = true
		more := d.waitChan()
		d.mu.Unlock()
		<-more
	}
}

// Close does nothing: drain replaces a body only once the original has
// been read to its end and closed; otherwise the body wrapper, which
// closes the original, is in front of it.
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
