package zeek

// maxBlocks bounds the out-of-order data blocks remembered per direction
// for gap detection (Zeek's reassembler keeps all of them).
const maxBlocks = 4

// seqRange is a half-open range of relative sequence numbers.
type seqRange struct{ lo, hi uint64 }

// dataSent is TCP_Reassembler::DataSent / Reassembler::NewBlock, reduced to
// the bookkeeping that decides gaps: which relative ranges arrived.
func (z *Tracker) dataSent(i int, seq, length uint64) {
	e := &z.ep[i]
	lo, hi := seq, seq+length
	trim := e.trimSeq + 1
	if hi <= trim {
		return
	}
	if lo < trim {
		lo = trim
	}
	next := e.reassemSeq + 1
	if hi <= next {
		return
	}
	if lo <= next {
		e.reassemSeq = hi - 1
		if e.nBlocks > 0 {
			e.absorbBlocks()
		}
		return
	}
	e.addBlock(lo, hi)
}

// absorbBlocks delivers remembered blocks that now follow on.
func (e *endpoint) absorbBlocks() {
	for again := true; again; {
		again = false
		for k := 0; k < int(e.nBlocks); k++ {
			b := e.blocks[k]
			if b.lo <= e.reassemSeq+1 {
				if b.hi > e.reassemSeq+1 {
					e.reassemSeq = b.hi - 1
				}
				e.removeBlock(k)
				again = true
				break
			}
		}
	}
}

func (e *endpoint) addBlock(lo, hi uint64) {
	for k := 0; k < int(e.nBlocks); k++ {
		b := &e.blocks[k]
		if lo <= b.hi && hi >= b.lo { // overlaps or touches: merge
			b.lo = min(b.lo, lo)
			b.hi = max(b.hi, hi)
			return
		}
	}
	if int(e.nBlocks) == maxBlocks {
		e.removeBlock(0)
	}
	e.blocks[e.nBlocks] = seqRange{lo, hi}
	e.nBlocks++
}

func (e *endpoint) removeBlock(k int) {
	copy(e.blocks[k:], e.blocks[k+1:e.nBlocks])
	e.nBlocks--
}

// ackReceived is TCP_Reassembler::AckReceived for endpoint i's data: an ack
// beyond what has been reassembled reveals a content gap ('g'), reported
// only while both sides are established or closed from established
// (TCP_Reassembler::Gap).
func (z *Tracker) ackReceived(i int, seq uint64) {
	e := &z.ep[i]
	if e.finSent && seq >= e.finSeq {
		seq = e.finSeq - 1
	}
	if seq <= e.trimSeq+1 {
		return
	}
	// TrimToSeq → Undelivered(seq) when seq is past what was delivered.
	if seq > e.reassemSeq+1 {
		if !(seq <= 2 && z.isPartial) {
			clean := isClean(e) && isClean(&z.ep[1-i])
			// Blocks below seq: each hole before one is a gap.
			for {
				k := -1
				for j := 0; j < int(e.nBlocks); j++ {
					if e.blocks[j].lo < seq && (k < 0 || e.blocks[j].lo < e.blocks[k].lo) {
						k = j
					}
				}
				if k < 0 {
					break
				}
				b := e.blocks[k]
				if b.lo > e.reassemSeq+1 && clean {
					z.gap(i, b.lo-(e.reassemSeq+1))
				}
				if b.hi-1 > e.reassemSeq {
					e.reassemSeq = b.hi - 1
				}
				e.removeBlock(k)
			}
			if seq > e.reassemSeq+1 && clean {
				z.gap(i, seq-(e.reassemSeq+1))
			}
		}
		if seq-1 > e.reassemSeq {
			e.reassemSeq = seq - 1
		}
	}
	e.trimSeq = seq - 1
	// Blocks wholly below the trim point are gone.
	for k := 0; k < int(e.nBlocks); {
		if e.blocks[k].hi <= seq {
			e.removeBlock(k)
			continue
		}
		k++
	}
}

// gap is TCP_Reassembler::Gap once reported: the scaled 'g', and the
// content_gap whose lengths conn.log's missed_bytes adds up.
func (z *Tracker) gap(i int, n uint64) {
	z.scaled(i, 'G', scGap)
	z.missed += n
}

func isClean(e *endpoint) bool {
	return e.state == epEstablished || (e.state == epClosed && e.prevState == epEstablished)
}
