package capture

// LoopingReader lends loopingReader to the tests of package capture_test.
type LoopingReader = loopingReader

// NewLoopingReader replays data forever, from start again after its end.
func NewLoopingReader(data []byte, start int) *LoopingReader {
	return &loopingReader{data: data, start: start}
}
