package ilist

import (
	"slices"
	"testing"
)

type item struct {
	n     int
	links Links[item]
}

func (i *item) Links() *Links[item] { return &i.links }

func contents(l *List[item, *item]) []int {
	var out []int
	for e := l.Front(); e != nil; e = e.links.next {
		out = append(out, e.n)
	}
	return out
}

func TestList(t *testing.T) {
	var l List[item, *item]
	items := make([]*item, 5)
	for i := range items {
		items[i] = &item{n: i}
		l.PushBack(items[i])
	}
	for _, c := range []struct {
		remove int
		want   []int
	}{
		{2, []int{0, 1, 3, 4}}, // middle
		{0, []int{1, 3, 4}},    // front
		{4, []int{1, 3}},       // back
		{1, []int{3}},
		{3, nil},
	} {
		l.Remove(items[c.remove])
		if got := contents(&l); !slices.Equal(got, c.want) {
			t.Fatalf("after removing %d: %v, want %v", c.remove, got, c.want)
		}
	}
	// A removed element can go back on, at the end.
	l.PushBack(items[2])
	l.PushBack(items[0])
	if got := contents(&l); !slices.Equal(got, []int{2, 0}) {
		t.Fatalf("pushed again: %v", got)
	}
	if l.tail != items[0] || items[0].links.next != nil {
		t.Fatal("tail not kept")
	}
}

func TestNoAllocs(t *testing.T) {
	var l List[item, *item]
	a, b := &item{n: 1}, &item{n: 2}
	if n := testing.AllocsPerRun(100, func() {
		l.PushBack(a)
		l.PushBack(b)
		l.Remove(a)
		l.Remove(b)
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
