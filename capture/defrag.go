package capture

import (
	"bytes"
	"time"

	"github.com/tcpflow-check/tcpflow-check/internal/ilist"
)

// IP fragment reassembly, as Zeek (src/Frag.cc), tshark (ip.defragment, on
// by default) and Suricata (defrag.c) do it before TCP: a Reader or Live
// holds the fragments of a datagram until it is whole, then decodes the
// datagram as the frame of its last fragment. The rules:
//
//   - Key: source, destination, protocol and identification for IPv4
//     (RFC 791), source, destination and identification for IPv6
//     (RFC 8200 section 4.5); the next header is the offset-0 fragment's.
//   - Overlap: the bytes that arrived first are kept, later ones that
//     overlap them are compared and the datagram counted as overlapping, or
//     inconsistent when they differ: Zeek's rule (Reassembler keeps the old
//     block and reports fragment_overlap or fragment_inconsistency). tshark
//     copies fragments in offset order, the earliest-starting one winning,
//     and flags ip.fragment.overlap(.conflict); Suricata applies a target
//     OS policy (bsd by default); Linux and RFC 5722 discard the datagram.
//     No datagram is dropped for an overlap.
//   - Impossible datagrams are given up (Invalid): one that would pass
//     65,535 bytes with its header, or whose fragments disagree about
//     where it ends (Linux drops those too; Zeek stretches the datagram).
//   - Time: a datagram not whole FragmentConfig.Timeout after its first
//     fragment arrived, on the capture's clock, is given up (RFC 8200's
//     60 s, Suricata's default; Zeek's frag_timeout is 0, "forever").
//   - Memory: at most MaxDatagrams datagrams and MaxBytes bytes are held;
//     beyond them the oldest datagram is given up (Limit). A datagram holds
//     a buffer as long as its highest fragment end, checked against 65,535
//     before anything is sized from it, and at most maxFragmentRanges
//     disjoint pieces.
//   - A fragment cut short by the snap length is not reassembled (that is
//     doomed): a first fragment is decoded as far as it goes and the others
//     are skipped, as Zeek does ("incompletely_captured_fragment").
//
// Frames that hold an unfragmented packet never reach this file.

// The defaults of FragmentConfig.
const (
	DefaultFragmentTimeout      = 60 * time.Second
	DefaultMaxFragmentDatagrams = 1024
	DefaultMaxFragmentBytes     = 16 << 20
)

// maxDatagram is the longest IP datagram, header included (RFC 791; RFC
// 8200 without jumbograms, which are never fragmented).
const maxDatagram = 65535

// maxFragmentRanges bounds the disjoint pieces of one datagram (its holes
// plus one); a datagram with more is given up to the limit.
const maxFragmentRanges = 256

// maxFreeDatagrams is how many finished datagrams keep their buffers for
// the next ones.
const maxFreeDatagrams = 8

// FragmentConfig bounds IP fragment reassembly. Its zero value applies the
// defaults.
type FragmentConfig struct {
	// Timeout is how long, in capture time from its first fragment, a
	// datagram waits for the rest. Default 60 s (DefaultFragmentTimeout).
	Timeout time.Duration
	// MaxDatagrams is how many datagrams may be incomplete at once; a new
	// one beyond it gives up the oldest. Default 1024.
	MaxDatagrams int
	// MaxBytes bounds the bytes the incomplete datagrams hold; beyond it
	// the oldest are given up. Default 16 MiB; at least 65,535.
	MaxBytes int
}

func (c FragmentConfig) withDefaults() FragmentConfig {
	if c.Timeout <= 0 {
		c.Timeout = DefaultFragmentTimeout
	}
	if c.MaxDatagrams <= 0 {
		c.MaxDatagrams = DefaultMaxFragmentDatagrams
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxFragmentBytes
	}
	c.MaxBytes = max(c.MaxBytes, maxDatagram)
	return c
}

// FragmentStats counts IP fragment reassembly (Stats.Fragments). Every
// datagram given up is counted under one reason; the frame fields name the
// first fragment of the first datagram given up for it (0: none).
type FragmentStats struct {
	// Fragments counts the IP fragments read: IPv4 packets with MF set or
	// an offset, IPv6 packets with a fragment header that is not atomic.
	Fragments uint64 `json:"fragments" yaml:"fragments"`
	// Reassembled counts the datagrams made whole and decoded.
	Reassembled uint64 `json:"reassembled" yaml:"reassembled"`
	// Overlapping counts datagrams in which a fragment overlapped bytes
	// already held (the bytes held first were kept); Inconsistent those
	// of them where the overlapping bytes differed.
	Overlapping  uint64 `json:"overlapping" yaml:"overlapping"`
	Inconsistent uint64 `json:"inconsistent" yaml:"inconsistent"`
	// Uncaptured counts fragments the snap length cut short: not
	// reassembled; a first fragment is decoded as far as it goes.
	Uncaptured uint64 `json:"uncaptured" yaml:"uncaptured"`
	// Datagrams given up: not whole within the timeout, the oldest beyond
	// the limits, impossible (longer than 65,535 bytes, fragments that
	// disagree about the end), and still incomplete when the input ended.
	Timeout    uint64 `json:"timeout" yaml:"timeout"`
	Limit      uint64 `json:"limit" yaml:"limit"`
	Invalid    uint64 `json:"invalid" yaml:"invalid"`
	Unfinished uint64 `json:"unfinished" yaml:"unfinished"`

	TimeoutFrame    uint64 `json:"timeout_frame,omitempty" yaml:"timeout_frame,omitempty"`
	LimitFrame      uint64 `json:"limit_frame,omitempty" yaml:"limit_frame,omitempty"`
	InvalidFrame    uint64 `json:"invalid_frame,omitempty" yaml:"invalid_frame,omitempty"`
	UnfinishedFrame uint64 `json:"unfinished_frame,omitempty" yaml:"unfinished_frame,omitempty"`
}

// GivenUp is how many datagrams were given up, for every reason.
func (s *FragmentStats) GivenUp() uint64 { return s.Timeout + s.Limit + s.Invalid + s.Unfinished }

func (s *FragmentStats) add(o *FragmentStats) {
	s.Fragments += o.Fragments
	s.Reassembled += o.Reassembled
	s.Overlapping += o.Overlapping
	s.Inconsistent += o.Inconsistent
	s.Uncaptured += o.Uncaptured
	s.Timeout += o.Timeout
	s.Limit += o.Limit
	s.Invalid += o.Invalid
	s.Unfinished += o.Unfinished
	for _, p := range [...][2]*uint64{
		{&s.TimeoutFrame, &o.TimeoutFrame}, {&s.LimitFrame, &o.LimitFrame},
		{&s.InvalidFrame, &o.InvalidFrame}, {&s.UnfinishedFrame, &o.UnfinishedFrame},
	} {
		if *p[0] == 0 {
			*p[0] = *p[1]
		}
	}
}

// fragKey names the datagram a fragment belongs to.
type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    uint8 // IPv4 only
	v6       bool
}

// span is a piece of a datagram held: bytes [lo, hi) of its payload.
type span struct{ lo, hi int32 }

// datagram is one datagram being reassembled.
type datagram struct {
	key   fragKey
	first int64  // capture time of its first fragment, in ns
	frame uint64 // that fragment's frame
	size  int    // payload length, known from the fragment without MF; -1 until then
	proto uint8  // next header of the offset-0 fragment
	// data is the payload held, as long as the highest fragment end; only
	// the bytes in ranges (sorted, disjoint, not adjacent) were received.
	data   []byte
	ranges []span
	// overlap and inconsistent are set once counted.
	overlap, inconsistent bool
	age                   ilist.Links[datagram] // on defrag.age
}

func (g *datagram) Links() *ilist.Links[datagram] { return &g.age }

// defrag holds the datagrams being reassembled for one Decoder.
type defrag struct {
	cfg     FragmentConfig
	stats   *FragmentStats
	pending map[fragKey]*datagram
	age     ilist.List[datagram, *datagram] // the pending, in order of creation: the oldest first
	held    int                             // cap of the buffers of the datagrams pending
	free    []*datagram
	// done are datagrams completed while decoding the current frame, whose
	// bytes are being decoded; they are recycled when the next frame is.
	done  [maxDepth]*datagram
	nDone int
}

func newDefrag(cfg FragmentConfig, stats *FragmentStats) *defrag {
	return &defrag{
		cfg:     cfg.withDefaults(),
		stats:   stats,
		pending: make(map[fragKey]*datagram),
		free:    make([]*datagram, 0, maxFreeDatagrams),
	}
}

// add adds a fragment received at now in frame: payload p at offset off,
// more when MF is set, proto its next header, hdr the length of the IP
// headers in front of it that the datagram's length counts. When p made the
// datagram whole it returns its payload, valid until the next frame is
// decoded, and its next header (the offset-0 fragment's); else nil.
func (f *defrag) add(k *fragKey, off int, more bool, p []byte, proto uint8, hdr int, now int64, frame uint64) ([]byte, uint8) {
	f.expire(now)
	g := f.pending[*k]
	if g == nil {
		if g = f.open(k, now, frame); g == nil {
			return nil, 0
		}
	}
	end := off + len(p)
	switch {
	case hdr+end > maxDatagram,
		!more && (g.size >= 0 && g.size != end || end < len(g.data)),
		more && g.size >= 0 && end > g.size:
		f.drop(g, &f.stats.Invalid, &f.stats.InvalidFrame)
		return nil, 0
	}
	if !more {
		g.size = end
	}
	if off == 0 {
		g.proto = proto
	}
	if !f.grow(g, end) {
		return nil, 0
	}
	overlap, differ := g.insert(off, p)
	if overlap && !g.overlap {
		g.overlap = true
		f.stats.Overlapping++
	}
	if differ && !g.inconsistent {
		g.inconsistent = true
		f.stats.Inconsistent++
	}
	if len(g.ranges) > maxFragmentRanges {
		f.drop(g, &f.stats.Limit, &f.stats.LimitFrame)
		return nil, 0
	}
	if g.size <= 0 || len(g.ranges) != 1 || g.ranges[0] != (span{0, int32(g.size)}) {
		return nil, 0
	}
	f.stats.Reassembled++
	f.unlink(g)
	if f.nDone == len(f.done) { // cannot happen: one completion per layer
		f.recycle(g)
		return nil, 0
	}
	f.done[f.nDone] = g
	f.nDone++
	return g.data[:g.size], g.proto
}

// release recycles the datagrams completed for the previous frame.
func (f *defrag) release() {
	for i := range f.done[:f.nDone] {
		f.recycle(f.done[i])
		f.done[i] = nil
	}
	f.nDone = 0
}

// expire gives up the datagrams whose time ran out at now.
func (f *defrag) expire(now int64) {
	limit := int64(f.cfg.Timeout)
	for g := f.age.Front(); g != nil && now-g.first >= limit; g = f.age.Front() {
		f.drop(g, &f.stats.Timeout, &f.stats.TimeoutFrame)
	}
}

// finish gives up every datagram still incomplete at the end of the input,
// whose last frame came at now: those whose time had run out by then as
// timed out, the others as unfinished.
func (f *defrag) finish(now int64) {
	f.expire(now)
	for g := f.age.Front(); g != nil; g = f.age.Front() {
		f.drop(g, &f.stats.Unfinished, &f.stats.UnfinishedFrame)
	}
	f.release()
}

// open starts a datagram, giving up the oldest when too many are pending.
func (f *defrag) open(k *fragKey, now int64, frame uint64) *datagram {
	for len(f.pending) >= f.cfg.MaxDatagrams && f.age.Front() != nil {
		f.drop(f.age.Front(), &f.stats.Limit, &f.stats.LimitFrame)
	}
	var g *datagram
	if n := len(f.free); n > 0 {
		g, f.free = f.free[n-1], f.free[:n-1]
	} else {
		g = new(datagram)
	}
	*g = datagram{key: *k, first: now, frame: frame, size: -1, data: g.data[:0], ranges: g.ranges[:0]}
	f.age.PushBack(g)
	f.pending[*k] = g
	f.held += cap(g.data)
	return g
}

// grow makes g's buffer end bytes long, giving up the oldest datagrams (or
// g itself) when the bytes held would pass MaxBytes. end is at most 65,535.
func (f *defrag) grow(g *datagram, end int) bool {
	if end <= cap(g.data) {
		if end > len(g.data) {
			g.data = g.data[:end]
		}
		return true
	}
	n := min(max(end, 2*cap(g.data), 2048), maxDatagram)
	need := n - cap(g.data)
	for old := f.age.Front(); f.held+need > f.cfg.MaxBytes && old != g; old = f.age.Front() {
		f.drop(old, &f.stats.Limit, &f.stats.LimitFrame)
	}
	if f.held+need > f.cfg.MaxBytes {
		f.drop(g, &f.stats.Limit, &f.stats.LimitFrame)
		return false
	}
	b := make([]byte, end, n)
	copy(b, g.data)
	g.data = b
	f.held += need
	return true
}

// insert copies the bytes of p, at offset off, that g does not hold yet,
// and reports whether p overlapped bytes held, and whether those differed.
func (g *datagram) insert(off int, p []byte) (overlap, differ bool) {
	end := off + len(p)
	if end == off {
		return false, false
	}
	pos := off // copied up to here
	// first is the first range that ends at or after off, last the first
	// that starts after end: p touches first..last-1.
	first, last := -1, len(g.ranges)
	for i, r := range g.ranges {
		lo, hi := int(r.lo), int(r.hi)
		if hi < off {
			continue
		}
		if first < 0 {
			first = i
		}
		if lo > end {
			last = i
			break
		}
		if lo < end && hi > off {
			if pos < lo {
				copy(g.data[pos:lo], p[pos-off:lo-off])
			}
			a, b := max(off, lo), min(end, hi)
			overlap = true
			differ = differ || !bytes.Equal(g.data[a:b], p[a-off:b-off])
			pos = max(pos, hi)
		}
	}
	if pos < end {
		copy(g.data[pos:end], p[pos-off:])
	}
	if first < 0 {
		first = len(g.ranges)
	}
	// Merge [off, end) with the ranges it touches, first..last-1.
	s := span{int32(off), int32(end)}
	if first < last {
		s.lo = min(s.lo, g.ranges[first].lo)
		s.hi = max(s.hi, g.ranges[last-1].hi)
		g.ranges[first] = s
		g.ranges = append(g.ranges[:first+1], g.ranges[last:]...)
		return overlap, differ
	}
	g.ranges = append(g.ranges, span{})
	copy(g.ranges[first+1:], g.ranges[first:])
	g.ranges[first] = s
	return overlap, differ
}

// drop gives g up, counting it in n and naming its first frame in frame.
func (f *defrag) drop(g *datagram, n, frame *uint64) {
	*n++
	if *frame == 0 {
		*frame = g.frame
	}
	f.unlink(g)
	f.recycle(g)
}

func (f *defrag) unlink(g *datagram) {
	delete(f.pending, g.key)
	f.age.Remove(g)
	f.held -= cap(g.data)
}

func (f *defrag) recycle(g *datagram) {
	if len(f.free) < maxFreeDatagrams {
		f.free = append(f.free, g)
	}
}
