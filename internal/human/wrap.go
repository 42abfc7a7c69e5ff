package human

import (
	"strings"
	"unicode/utf8"
)

// Columns is the width of s on a terminal: its runes, less the ANSI
// colour escapes Painter adds, which take no column.
func Columns(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if j := escapeEnd(s, i); j > i {
			i = j
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}

// escapeEnd returns the end of the ANSI CSI escape ("\x1b[...m") starting
// at s[i], or i when none starts there.
func escapeEnd(s string, i int) int {
	if i+1 >= len(s) || s[i] != '\x1b' || s[i+1] != '[' {
		return i
	}
	for j := i + 2; j < len(s); j++ {
		if c := s[j]; c >= 0x40 && c <= 0x7e { // the final byte
			return j + 1
		}
	}
	return i
}

// Wrap fits line (one line, without its newline) to width columns, as a
// paragraph with a hanging indent: it keeps line's own indentation and the
// spacing between its words, breaks at spaces, and starts every
// continuation line with hang spaces. A word is broken only when it is
// longer than a continuation line's room. Lines are joined by "\n", with
// none at the end. A width <= 0 leaves line as it is.
func Wrap(line string, width, hang int) string {
	if width <= 0 || Columns(line) <= width {
		return line
	}
	var b strings.Builder
	col := 0 // the columns of the current output line
	newLine := func() {
		b.WriteString("\n")
		b.WriteString(strings.Repeat(" ", hang))
		col = hang
	}
	first := true
	for line != "" {
		sp := len(line) - len(strings.TrimLeft(line, " "))
		space, rest := line[:sp], line[sp:]
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		word := rest[:end]
		line = rest[end:]
		if word == "" { // trailing spaces
			break
		}
		w := Columns(word)
		switch {
		case first:
			b.WriteString(space)
			col = len(space)
			first = false
		case col+len(space)+w <= width:
			b.WriteString(space)
			col += len(space)
		default:
			newLine()
		}
		for col+w > width { // longer than its line's room: what fits, the rest below
			head, tail := splitColumns(word, max(width-col, 1))
			b.WriteString(head)
			word, w = tail, Columns(tail)
			newLine()
		}
		b.WriteString(word)
		col += w
	}
	return b.String()
}

// A Part is a piece of a line that WrapParts may start a line with; Sep
// joins it to the part before.
type Part struct{ Sep, Text string }

// WrapParts writes head followed by parts, fitted to width columns with a
// hanging indent of hang: a line breaks between parts only, where the
// separator's mark (the "·" of " · ") stays at the end of the line and its
// spaces go, and a part longer than a line is wrapped as Wrap does. A width
// <= 0 writes one line.
func WrapParts(head string, parts []Part, width, hang int) string {
	var one strings.Builder
	one.WriteString(head)
	for i, pt := range parts {
		if i > 0 {
			one.WriteString(pt.Sep)
		}
		one.WriteString(pt.Text)
	}
	if width <= 0 || Columns(one.String()) <= width {
		return one.String()
	}
	mark := func(i int) string { // what a break before parts[i] leaves at the line's end
		if i >= len(parts) {
			return ""
		}
		return strings.TrimRight(parts[i].Sep, " ")
	}
	var lines []string
	cur := head
	for i, pt := range parts {
		switch {
		case i == 0:
			cur += pt.Text
		case Columns(cur)+Columns(pt.Sep)+Columns(pt.Text)+Columns(mark(i+1)) <= width:
			cur += pt.Sep + pt.Text
		default:
			lines = append(lines, Wrap(cur+mark(i), width, hang))
			cur = strings.Repeat(" ", hang) + pt.Text
		}
	}
	lines = append(lines, Wrap(cur, width, hang))
	return strings.Join(lines, "\n")
}

// WrapList is WrapParts of items, each joined to the one before by sep.
func WrapList(head string, items []string, sep string, width, hang int) string {
	parts := make([]Part, len(items))
	for i, it := range items {
		parts[i] = Part{sep, it}
	}
	return WrapParts(head, parts, width, hang)
}

// splitColumns splits s after n visible columns, never inside an escape.
func splitColumns(s string, n int) (string, string) {
	col := 0
	for i := 0; i < len(s); {
		if j := escapeEnd(s, i); j > i {
			i = j
			continue
		}
		if col == n {
			return s[:i], s[i:]
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		col++
	}
	return s, ""
}
