package zeek

// letters are a connection's history letters, five bits each: the
// alphabet's 25 letters and 0 for none. maxHistory of them take 40 bytes
// where a byte each would take 64; one spare byte lets every letter be read
// as two bytes.
type letters struct {
	b [maxHistory*5/8 + 1]byte
	n uint8
}

// alphabet lists the letters a history holds: code k+1 is alphabet[k].
const alphabet = "^SHADFRCTWGIQshadfrctwgiq"

// letterCode is the code of each letter of the alphabet (0 for others).
var letterCode = func() (c [256]uint8) {
	for k := range len(alphabet) {
		c[alphabet[k]] = uint8(k + 1)
	}
	return c
}()

// at is letter k (k < l.n).
func (l *letters) at(k int) byte {
	bit := 5 * k
	v := (uint16(l.b[bit>>3]) | uint16(l.b[bit>>3+1])<<8) >> (bit & 7) & 31
	if v == 0 {
		return '?' // not a letter of the alphabet
	}
	return alphabet[v-1]
}

// set makes letter k c.
func (l *letters) set(k int, c byte) {
	bit := 5 * k
	w, sh := bit>>3, bit&7
	v := uint16(l.b[w]) | uint16(l.b[w+1])<<8
	v = v&^(31<<sh) | uint16(letterCode[c])<<sh
	l.b[w], l.b[w+1] = byte(v), byte(v>>8)
}

// add appends c, unless maxHistory letters are there.
func (l *letters) add(c byte) {
	if int(l.n) < maxHistory {
		l.set(int(l.n), c)
		l.n++
	}
}

// appendTo appends the letters to b.
func (l *letters) appendTo(b []byte) []byte {
	for k := range int(l.n) {
		b = append(b, l.at(k))
	}
	return b
}
