package reassembly

import "unsafe"

// Freeze keeps c compact in the cold store and frees its slot, unless its
// encoding would not fit a cell (then it stays as it is); it reports
// whether c was frozen. c, and any *Conn of it, is not valid after it was:
// the next Lookup, Get, Oldest or Next that reaches the connection thaws
// it into a slot, maybe another. Freezing changes nothing else: order,
// ids and contents are as they were.
func (t *Table[T]) Freeze(c *Conn[T]) bool {
	w := entryWords(c)
	if t.codec.tmpl == nil {
		t.codec.tmpl = append([]uint64(nil), w...)
	}
	b := t.codec.encode(w)
	if b == nil {
		return false
	}
	loc := t.cold.alloc(len(b), t.mem)
	copy(t.cold.cell(loc), b)
	l := t.link(c.ref)
	t.release(l.loc)
	l.loc = loc
	return true
}

// thaw decodes frozen id into a slot and returns it.
func (t *Table[T]) thaw(id uint32) *Conn[T] {
	l := t.link(id)
	ref := t.alloc()
	c := t.at(ref)
	t.codec.decode(t.cold.cell(l.loc), entryWords(c), len(entryWords(c)))
	t.cold.release(l.loc)
	l.loc = ref
	t.thawed = append(t.thawed, id)
	return c
}

// coldKey returns the key of the frozen entry at loc (decoded into
// scratch: the key is the entry's first words).
func (t *Table[T]) coldKey(loc uint32) *Key {
	w := entryWords(t.scratch)
	t.codec.decode(t.cold.cell(loc), w, keyWords)
	return &t.scratch.Key
}

// keyWords is how many words of an entry hold its Key.
const keyWords = int(unsafe.Sizeof(Key{})+7) / 8

// FreezeIdle freezes the connections whose latest segment came before
// before, in activity order from where it stopped last time, and those
// thawed since then that are still idle; but not one that soon (a nil
// soon: none) says will be reached soon: that one is looked at again
// next time. It returns how many it froze. Every *Conn obtained before
// the call may be invalid after it.
func (t *Table[T]) FreezeIdle(before int64, soon func(*Conn[T]) bool) int {
	n := 0
	freeze := func(c *Conn[T]) {
		if soon != nil && soon(c) {
			t.again = append(t.again, c.ref)
		} else if t.Freeze(c) {
			n++
		}
	}
	for _, id := range t.thawed {
		if l := t.link(id); l.loc != 0 && l.loc&coldBit == 0 {
			if c := t.at(l.loc); c.Last < before {
				freeze(c)
			}
		}
	}
	t.thawed, t.again = append(t.thawed[:0], t.again...), t.again[:0]
	id := t.head
	if t.cursor != 0 {
		id = t.link(t.cursor).next
	}
	for id != 0 {
		l := t.link(id)
		if l.loc&coldBit == 0 {
			c := t.at(l.loc)
			if c.Last >= before {
				break
			}
			// The next entry is as idle, out of the cache: its lines come
			// in while this one is encoded (flows1m, --workers 1: 9% less
			// CPU in all; encoding took 9% of it, now 4%).
			if l.next != 0 {
				t.prefetch(l.next)
			}
			freeze(c)
		}
		t.cursor = id
		id = l.next
	}
	return n
}

// LinkCost is what a connection's link takes (Table.links).
const LinkCost = int64(unsafe.Sizeof(link{}))

// Frozen is the number of connections frozen.
func (t *Table[T]) Frozen() int { return t.cold.n }

// Bytes is what the table holds for its connections, in bytes: an entry's
// size for each one in a slot, its cell for each frozen one, and for all
// their link and share of the index (IndexCost at most).
func (t *Table[T]) Bytes() int64 {
	n := int64(t.Len())
	hot := n - int64(t.cold.n)
	return hot*int64(unsafe.Sizeof(Conn[T]{})) + t.cold.bytes + n*(IndexCost+LinkCost)
}

// Scan calls fn for each connection, oldest activity first, without
// thawing any: a frozen one is decoded into a scratch entry, valid only
// during the call. fn must not change the table or the connection.
func (t *Table[T]) Scan(fn func(*Conn[T])) {
	for id := t.head; id != 0; {
		l := t.link(id)
		if l.loc&coldBit == 0 {
			fn(t.at(l.loc))
		} else {
			w := entryWords(t.scratch)
			t.codec.decode(t.cold.cell(l.loc), w, len(w))
			fn(t.scratch)
		}
		id = l.next
	}
}
