package shard

// stream carries one shard's events of a Finish to the merger in chunks:
// at the end of an input every open connection ends at once, and holding
// all their records until every shard is through (as the events of an
// ordinary batch are held) would cost as much memory again as the
// connections did. The shard fills one chunk at a time, the merger reads
// one, and at most chunks of them exist: a shard ahead of the merge waits
// for it.
type stream struct {
	full chan []event // filled chunks, in order; nil after the last
	free chan []event // chunks the merger is through with
	cur  []event      // the chunk being filled (the shard's)
}

const (
	chunkSize = 256 // events a chunk holds
	chunks    = 4   // a shard's chunks: one filling, two waiting, one merging
)

func newStream() *stream {
	s := &stream{full: make(chan []event, chunks-2), free: make(chan []event, chunks)}
	for range chunks {
		s.free <- make([]event, 0, chunkSize)
	}
	return s
}

// slot extends the chunk being filled by one zero event and returns it;
// filled then hands the chunk on when it is full.
func (s *stream) slot() *event {
	if s.cur == nil {
		s.cur = <-s.free
	}
	return slot(&s.cur)
}

// filled hands on the chunk being filled if it is full.
func (s *stream) filled() {
	if len(s.cur) == chunkSize {
		s.full <- s.cur
		s.cur = nil
	}
}

// end hands on what is left, then the end of the stream.
func (s *stream) end() {
	if len(s.cur) > 0 {
		s.full <- s.cur
		s.cur = nil
	}
	s.full <- nil
}

// next is the merger's next chunk, never empty; nil at the end.
func (s *stream) next() []event { return <-s.full }

// recycle gives a chunk the merger is through with back to the shard,
// keeping no record alive.
func (s *stream) recycle(c []event) {
	clear(c)
	s.free <- c[:0]
}
