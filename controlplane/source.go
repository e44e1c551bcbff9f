package controlplane

import "context"

// Update is one policy document as a Source read it: bytes, not yet
// decoded. The SourceProvider decodes it, so every source shares one
// decoder, one size limit and one disk cache that keeps the bytes as they
// came.
type Update struct {
	// Body is the document, undecoded. It is ignored when Unchanged is
	// set.
	Body []byte
	// Revision identifies Body at the source: an HTTP ETag, an etcd
	// modification revision, a hash of a file's content. Empty means the
	// source cannot tell. The provider hands the revision in force back to
	// Fetch, keeps it in the disk cache, treats a Body of the revision in
	// force as a confirmation (no decoding), and does not decode again a
	// revision it has rejected.
	Revision string
	// Unchanged reports that the document at the source is still the one
	// whose revision Fetch was given (an HTTP 304): the provider marks the
	// document in force as confirmed. Set Revision to that revision too:
	// an Unchanged answer about a revision no longer in force is ignored.
	Unchanged bool
}

// Source is where a SourceProvider's documents come from: the one thing a
// third-party source implements. It only reads documents and reports
// errors; the SourceProvider keeps the snapshots lookups read, the
// last-known-good document, the disk cache, the counters and LastError.
// (grpc-go splits a resolver, which watches, from the channel, which keeps
// the last good configuration, the same way.)
type Source interface {
	// Name identifies the source in errors, events and the disk cache: a
	// path, a URL, an etcd key. It must not change.
	Name() string
	// Fetch reads the document now and returns it, or why it could not.
	// known is the Revision of the document in force ("" when there is
	// none, or it has no revision); a source that can tell the document
	// has not changed since may return Update{Unchanged: true}. Fetch must
	// return promptly once ctx ends: the provider cancels ctx on Close, and
	// an error it returns after that is not counted as a failure. The
	// provider never runs two Fetch calls at once.
	Fetch(ctx context.Context, known string) (Update, error)
}

// Watcher is a Source that pushes documents as they change. A
// SourceProvider runs Watch in one goroutine of its own from its
// construction until Close, and still uses Fetch for lookups before the
// first document, for Refresh and for its periodic resynchronisation.
type Watcher interface {
	Source
	// Watch delivers every new document, and every failure, to sink until
	// ctx ends, then returns. It reconnects by itself after a failure. It
	// may call sink's methods from any goroutine, but must not call them
	// after it has returned.
	Watch(ctx context.Context, sink Sink)
}

// Sink receives what a Watcher sees. *SourceProvider implements it.
type Sink interface {
	// Update puts a document in force, or records why it cannot be (too
	// large, not a valid document) and keeps the last good one. It returns
	// that reason, already recorded, or nil.
	Update(u Update) error
	// ReportError records a failure of the source itself (the connection
	// is lost): the document in force stays, as last-known-good, until the
	// next Update.
	ReportError(err error)
}
