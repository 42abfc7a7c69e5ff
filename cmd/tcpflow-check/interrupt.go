package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tcpflow-check/tcpflow-check/capture"
)

// An interrupt is the first SIGINT or SIGTERM a command receives while it
// reads its inputs. Reading stops at the next segment (or at once when it
// is blocked on a pipe, FIFO or terminal), what was read is flushed and
// summarized, and the command exits 130. A second signal kills the process
// as usual. The zero of *interrupt (nil) never fires.
type interrupt struct {
	ch   chan os.Signal
	done chan struct{}
	sig  os.Signal // set before done is closed
}

// notifyInterrupt starts catching SIGINT and SIGTERM; release stops it.
func notifyInterrupt() *interrupt {
	it := &interrupt{ch: make(chan os.Signal, 1), done: make(chan struct{})}
	signal.Notify(it.ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		s, ok := <-it.ch
		if !ok {
			return
		}
		signal.Stop(it.ch) // the next signal has its default effect
		it.sig = s
		close(it.done)
	}()
	return it
}

// release stops catching signals.
func (it *interrupt) release() {
	if it != nil {
		signal.Stop(it.ch)
		close(it.ch)
	}
}

// fired reports whether the signal came.
func (it *interrupt) fired() bool {
	if it == nil {
		return false
	}
	select {
	case <-it.done:
		return true
	default:
		return false
	}
}

// name is the signal's name as kill(1) spells it: SIGINT, SIGTERM.
func (it *interrupt) name() string {
	if s, ok := it.sig.(syscall.Signal); ok && s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// err is the command's error once the signal came: exit code 130.
func (it *interrupt) err() error { return fmt.Errorf("%w by %s", errInterrupted, it.name()) }

// errReadInterrupted is what a read abandoned for the interrupt returns.
var errReadInterrupted = errors.New("read interrupted")

// mayBlock reports whether reading f can wait for ever: a pipe, FIFO,
// terminal or socket rather than a regular file.
func mayBlock(f *os.File) bool {
	fi, err := f.Stat()
	return err != nil || !fi.Mode().IsRegular()
}

// interruptible returns rd unchanged (and a nil stopReader) when it
// reads a regular file or when there is no interrupt to obey; otherwise a
// stopReader over rd.
func (it *interrupt) interruptible(rd io.Reader) (io.Reader, *stopReader) {
	if it == nil {
		return rd, nil
	}
	if f, ok := rd.(*os.File); ok && !mayBlock(f) {
		return rd, nil
	}
	sr := newStopReader(func() (io.Reader, error) { return rd, nil }, it.done)
	return sr, sr
}

// openFile opens a named input that is not standard input. A FIFO (or
// any other file whose open or reads may wait for ever) is opened and read
// by the stopReader it returns, so that an interrupt ends a wait for a
// writer or for data; regular files go to capture.Open.
func (it *interrupt) openFile(name string, cfg *capture.Config) (*capture.Reader, *stopReader, error) {
	fi, err := os.Stat(name)
	if it == nil || err != nil || fi.Mode().IsRegular() || fi.IsDir() {
		r, err := capture.Open(name, cfg)
		return r, nil, err
	}
	sr := newStopReader(func() (io.Reader, error) {
		f, err := os.Open(name) // blocks on a FIFO until a writer opens it
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // capture names the file
			}
			return nil, err
		}
		return f, nil
	}, it.done)
	sr.owns = true
	r, err := capture.NewReader(sr, name, cfg)
	if err != nil {
		sr.Close()
		return nil, nil, err
	}
	return r, sr, nil
}

// stopReader reads its source in a goroutine of its own, a chunk at a
// time, so that Read can give up when done is closed even while the
// source's read is blocked (a pipe with no data, a FIFO with no writer,
// standard input on a terminal). After done closes, Read still hands out
// what arrives until the source has been quiet for stopQuiet (at most
// stopDrain in all): a Ctrl-C reaches "tcpdump -w - | tcpflow-check -"
// both, and the packets tcpdump flushes as it exits are analyzed. A
// regular file needs none of this: the read loop checks the interrupt
// between segments.
type stopReader struct {
	chunks chan chunk
	free   chan []byte
	done   <-chan struct{}
	open   chan struct{} // closed once the source is open
	src    io.Reader     // set before open is closed
	owns   bool          // src is a file this reader opened, to close
	cur    []byte        // the unread part of the current chunk
	buf    []byte        // the current chunk's buffer, to recycle
	err    error         // sticky: the source's error (after its data) or errReadInterrupted
	drain  time.Time     // when draining after the interrupt ends at the latest
	idle   func()        // called before Read waits for the source (onIdle)
}

type chunk struct {
	b   []byte
	err error
}

const (
	stopReaderChunk = 64 << 10

	// tcpdump without -U flushes its buffer only as it exits, and it
	// notices a Ctrl-C at the next packet or its 1 s buffer timeout.
	stopQuiet = 1100 * time.Millisecond
	stopDrain = 3 * time.Second
)

func newStopReader(open func() (io.Reader, error), done <-chan struct{}) *stopReader {
	s := &stopReader{chunks: make(chan chunk, 1), free: make(chan []byte, 2), done: done, open: make(chan struct{})}
	s.free <- make([]byte, stopReaderChunk)
	s.free <- make([]byte, stopReaderChunk)
	go s.fill(open)
	return s
}

// opened reports whether the source is open (a FIFO may wait for a writer).
func (s *stopReader) opened() bool {
	select {
	case <-s.open:
		return true
	default:
		return false
	}
}

// fill reads the source until it fails or ends. When Read has given up it
// stays blocked, in the source's read or on a full channel, until the
// process exits or Close unblocks the read.
func (s *stopReader) fill(open func() (io.Reader, error)) {
	rd, err := open()
	if err != nil {
		s.chunks <- chunk{err: err}
		return
	}
	s.src = rd
	close(s.open)
	for {
		buf := <-s.free
		n, err := rd.Read(buf)
		s.chunks <- chunk{buf[:n], err}
		if err != nil {
			return
		}
	}
}

// Close closes the source if this reader opened it (a FIFO): that ends a
// read still blocked in it. Standard input is left open.
func (s *stopReader) Close() error {
	if s == nil || !s.owns || !s.opened() { // not ours, or the open is still blocked
		return nil
	}
	return s.src.(io.Closer).Close()
}

func (s *stopReader) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.buf != nil {
			s.free <- s.buf[:cap(s.buf)]
			s.buf = nil
		}
		c, ok := s.next()
		if !ok {
			s.err = errReadInterrupted
			return 0, s.err
		}
		s.cur, s.buf, s.err = c.b, c.b, c.err
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// onIdle makes Read call fn each time it is about to wait for the source:
// the reader of a pipe hands on what it holds (workers' batches) while the
// writer is quiet. Nothing happens for a nil s.
func (s *stopReader) onIdle(fn func()) {
	if s != nil {
		s.idle = fn
	}
}

// next waits for the next chunk; false means the interrupt came and the
// source has been quiet since (or draining took too long).
func (s *stopReader) next() (chunk, bool) {
	if s.drain.IsZero() {
		select {
		case c := <-s.chunks:
			return c, true
		default:
		}
		if s.idle != nil {
			s.idle()
		}
		select {
		case c := <-s.chunks:
			return c, true
		case <-s.done:
			if !s.opened() { // still waiting for a writer: nothing to drain
				return chunk{}, false
			}
			s.drain = time.Now().Add(stopDrain)
		}
	}
	wait := min(stopQuiet, time.Until(s.drain))
	if wait <= 0 {
		return chunk{}, false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case c := <-s.chunks:
		return c, true
	case <-t.C:
		return chunk{}, false
	}
}
