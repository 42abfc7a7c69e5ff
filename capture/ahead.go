package capture

import "io"

// With Config.ReadAhead, a gzip file is decompressed on a goroutine of its
// own, a few chunks ahead of the stream that reads it: inflating costs
// more than analyzing what comes out, and on a free core the two overlap.
// Plain files are never read ahead: their read is a copy out of the page
// cache, and handing its chunks over made the decoder meet them in the
// other core's cache (more CPU in all, and slower with two workers).
const (
	aheadChunk  = 512 << 10 // bytes of the decompressed capture a chunk holds
	aheadChunks = 3         // chunks in flight: one read, one being filled, one spare
)

// ioState is what reading the file has met so far: the bytes of the file
// read, and the first error of the file and of its gzip stream.
type ioState struct {
	rawN          int64
	rawErr, gzErr error
}

// failed reports whether the file or its gzip stream failed to read.
func (s ioState) failed() bool { return s.rawErr != nil || s.gzErr != nil }

// chunk is a run of the decompressed capture. A chunk shorter than its
// buffer is the last one: err says why (io.EOF at the stream's end).
type chunk struct {
	buf []byte
	n   int
	err error
	io  ioState // after the chunk was read
}

// ahead reads an io.Reader into chunks on its goroutine and is itself
// the io.Reader the stream reads. The goroutine starts at the stream's
// first read after the file header, so that a caller that wants no more
// than the segments in the stream's first fill (the first segment of
// each file, to put them in time order) never starts it. From then on the
// goroutine alone touches the reader it was given, and the counting
// readers under it; the stream learns how far the file was read, and what
// failed, from the chunks.
type ahead struct {
	rd         io.Reader
	state      func() ioState // what reading has met, asked on the goroutine
	full, free chan *chunk    // nil until the goroutine starts
	stop, done chan struct{}
	cur        *chunk // the chunk being read, nil before the first
	pos        int    // bytes of cur read
	seen       ioState
}

// readAhead reads rd ahead once it is first read; state tells what
// reading has met.
func readAhead(rd io.Reader, state func() ioState) *ahead {
	return &ahead{rd: rd, state: state, seen: state(), stop: make(chan struct{}), done: make(chan struct{})}
}

// start makes the chunks and starts the goroutine.
func (a *ahead) start() {
	a.full, a.free = make(chan *chunk, aheadChunks), make(chan *chunk, aheadChunks)
	for range aheadChunks {
		a.free <- &chunk{buf: make([]byte, aheadChunk)}
	}
	go a.run()
}

// run fills free chunks until the reader ends or fails, or close stops it.
func (a *ahead) run() {
	defer close(a.done)
	for {
		var c *chunk
		select {
		case c = <-a.free:
		case <-a.stop:
			return
		}
		c.n, c.err = readAtLeast(a.rd, c.buf, len(c.buf))
		c.io = a.state()
		select {
		case a.full <- c:
		case <-a.stop:
			return
		}
		if c.err != nil {
			return
		}
	}
}

// Read copies out of the chunk being read, taking the next when it is
// done. The last chunk's error comes when its bytes are read, and with it
// what reading met; it stays.
func (a *ahead) Read(p []byte) (int, error) {
	if a.full == nil {
		a.start()
	}
	for a.cur == nil || a.pos == a.cur.n {
		if a.cur != nil {
			if a.cur.err != nil {
				a.seen = a.cur.io
				return 0, a.cur.err
			}
			a.free <- a.cur // never blocks: free has room for every chunk
		}
		a.cur, a.pos = <-a.full, 0
		a.seen.rawN = a.cur.io.rawN
	}
	n := copy(p, a.cur.buf[a.pos:a.cur.n])
	a.pos += n
	return n, nil
}

// close stops the goroutine, if it started, and waits for it to leave
// the reader alone.
func (a *ahead) close() {
	close(a.stop)
	if a.full == nil {
		close(a.done)
	}
	<-a.done
}
