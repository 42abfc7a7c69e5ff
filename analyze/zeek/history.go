package zeek

// History masks of the once-per-direction letters (TCP_Endpoint.h
// HistoryMasks); the responder's are shifted left by 16.
const (
	histSYN      = 0x1
	histFIN      = 0x2
	histRST      = 0x4
	histFINRST   = 0x8
	histData     = 0x10
	histACK      = 0x20
	histMultiFlg = 0x40
)

// maxHistory bounds the history kept, like any fixed log field; a longer
// history is cut (Zeek's own grows without bound, but the once-only and
// logarithmic rules keep real histories far shorter).
const maxHistory = 64

func swapCase(c byte) byte {
	switch {
	case c >= 'a' && c <= 'z':
		return c - 'a' + 'A'
	case c >= 'A' && c <= 'Z':
		return c - 'A' + 'a'
	}
	return c
}

// updateHistory is update_history: the once-only and seq-repeat letters.
func (z *Tracker) updateHistory(i int, syn, fin, rst, ack bool, relSeq, length uint64) {
	e := &z.ep[i]
	bits := b2i(syn) + b2i(fin) + b2i(rst)
	switch {
	case bits > 1:
		if fin && rst {
			z.checkHistory(i, histFINRST, 'I')
		} else {
			z.checkHistory(i, histMultiFlg, 'Q')
		}
	case bits == 1:
		if syn {
			code := byte('S')
			if ack {
				code = 'H'
			}
			if z.checkHistory(i, histSYN, code) && relSeq != e.histLastSYN {
				z.addLetter(i, code)
			}
			e.histLastSYN = relSeq
		}
		if fin {
			// A FIN's sequence number is taken after its data.
			if z.checkHistory(i, histFIN, 'F') && relSeq+length != e.histLastFIN {
				z.addLetter(i, 'F')
			}
			e.histLastFIN = relSeq + length
		}
		if rst {
			if z.checkHistory(i, histRST, 'R') && relSeq != e.histLastRST {
				z.addLetter(i, 'R')
			}
			e.histLastRST = relSeq
		}
	default:
		if length > 0 {
			z.checkHistory(i, histData, 'D')
		} else if ack {
			z.checkHistory(i, histACK, 'A')
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkHistory is TCP_Endpoint::CheckHistory + Session::CheckHistory: add the
// letter the first time its mask is seen for that direction; report whether
// it had been seen already.
func (z *Tracker) checkHistory(i int, mask uint32, code byte) bool {
	if !z.isOrig(i) {
		mask <<= 16
	}
	if z.histSeen&mask != 0 {
		return true
	}
	z.firstHistory(i, mask, code)
	return false
}

// firstHistory is checkHistory's first sight of mask (shifted for the
// direction), out of line: a letter is seen once, checked on every segment.
func (z *Tracker) firstHistory(i int, mask uint32, code byte) {
	z.histSeen |= mask
	z.addLetter(i, code)
}

// addLetter adds code (upper case) for endpoint i: lower case for the responder.
func (z *Tracker) addLetter(i int, code byte) {
	if !z.isOrig(i) {
		code = code - 'A' + 'a'
	}
	z.addHistory(code)
}

func (z *Tracker) addHistory(c byte) { z.hist.add(c) }

// scaledKind names a scaled history letter's counter in an endpoint.
type scaledKind uint8

// The scaled letters: checksum errors ('c'), retransmissions ('t'), zero
// windows ('w'), content gaps ('g').
const (
	scChecksum scaledKind = iota
	scRetransmit
	scZeroWindow
	scGap
	nScaled
)

// scaleSteps are the thresholds of a scaled letter, 1, 10, 100, ... as
// Zeek's uint32 arithmetic makes them: ten times 10^9 wraps to 1410065408,
// and ten times that wraps below it, where the threshold stays and the
// count starts over.
var scaleSteps = [...]uint32{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 10_000_000_000 % (1 << 32)}

// scaled is Session::ScaledHistoryEntry: the letter is added when the count
// reaches the threshold (1, 10, 100, ...).
func (z *Tracker) scaled(i int, code byte, k scaledKind) {
	e := &z.ep[i]
	e.scaleCnt[k]++
	step := e.scaleStep[k]
	if e.scaleCnt[k] != scaleSteps[step] {
		return
	}
	z.addLetter(i, code)
	if int(step)+1 < len(scaleSteps) {
		e.scaleStep[k] = step + 1
	} else {
		e.scaleCnt[k] = 0 // the next threshold wraps: keep this one
	}
}

// History returns the history letters; it allocates the string.
func (z *Tracker) History() string {
	var buf [maxHistory]byte
	return string(z.hist.appendTo(buf[:0]))
}

// AppendHistory appends the history letters to b, without allocating when b
// has room.
func (z *Tracker) AppendHistory(b []byte) []byte { return z.hist.appendTo(b) }
