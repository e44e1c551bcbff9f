package regohttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
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

// readPrefix reads up to limit bytes of rc. complete reports that it met
// the end of the body; otherwise rest yields the bytes read and then what
// remains of rc (or the error that stopped the reading), so the caller
// still sees the whole body.
func readPrefix(rc io.Reader, limit int64) (prefix []byte, complete bool, rest io.Reader) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(rc, limit+1))
	prefix = buf.Bytes()
	switch {
	case err != nil:
		return nil, false, io.MultiReader(bytes.NewReader(prefix), errReader{err})
	case n <= limit:
		return prefix, true, nil
	}
	return nil, false, io.MultiReader(bytes.NewReader(prefix), rc)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

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
