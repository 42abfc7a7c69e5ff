// Package ilist is an intrusive doubly linked list: the links live in the
// elements, so that putting an element on a list, or taking it off, costs
// no allocation and removal from the middle is O(1). It is for the bounded
// tables that age their entries out in order (oldest first).
//
// It is not a container: it holds pointers to elements the caller owns, and
// an element is on at most one list at a time.
package ilist

// Links are an element's place on a list; the element type holds them and
// hands them out through its Links method.
type Links[T any] struct{ prev, next *T }

// Elem is a pointer to an element type whose Links method returns the
// element's links.
type Elem[T any] interface {
	*T
	Links() *Links[T]
}

// List is a list of elements in the order they were pushed. The zero value
// is an empty list.
type List[T any, P Elem[T]] struct{ head, tail P }

// Front returns the first (oldest) element, nil when the list is empty.
func (l *List[T, P]) Front() P { return l.head }

// PushBack appends e, which must not be on a list.
func (l *List[T, P]) PushBack(e P) {
	ln := e.Links()
	ln.prev, ln.next = l.tail, nil
	if l.tail != nil {
		l.tail.Links().next = e
	} else {
		l.head = e
	}
	l.tail = e
}

// Remove takes e, which must be on l, off it.
func (l *List[T, P]) Remove(e P) {
	ln := e.Links()
	if ln.prev != nil {
		P(ln.prev).Links().next = ln.next
	} else {
		l.head = ln.next
	}
	if ln.next != nil {
		P(ln.next).Links().prev = ln.prev
	} else {
		l.tail = ln.prev
	}
	ln.prev, ln.next = nil, nil
}
