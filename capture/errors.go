package capture

import (
	"errors"
	"strconv"
)

// Sentinel errors callers can branch on with errors.Is. They arrive wrapped
// in a *FileError that names the file, frame and byte offset.
var (
	// ErrUnknownFormat: the file is neither pcap nor pcapng (nor a gzip of either).
	ErrUnknownFormat = errors.New("unknown file format")
	// ErrEmpty: the file holds no bytes at all.
	ErrEmpty = errors.New("empty file")
	// ErrTruncated: the file ends in the middle of a header or record.
	ErrTruncated = errors.New("truncated")
	// ErrCorrupt: a header or record is impossible (absurd capture length,
	// bad block, damaged gzip stream).
	ErrCorrupt = errors.New("corrupt")
	// ErrNoStdin: Open was asked for "-" and Config.Stdin is nil.
	ErrNoStdin = errors.New("no standard input to read (Config.Stdin is nil)")
)

// FileError says where in which input reading failed. Frame is the 1-based
// number of the frame being read when the error occurred (0 while reading the
// file header) and Offset the byte offset where its record starts (for a
// gzip-compressed file, the offset in the decompressed stream).
type FileError struct {
	File   string
	Frame  uint64
	Offset int64
	Err    error
}

// Error reads like "capture: trace.pcap: frame 1234 at byte offset 56789: truncated record".
func (e *FileError) Error() string {
	s := "capture: " + e.File + ": "
	if e.Frame > 0 {
		s += "frame " + strconv.FormatUint(e.Frame, 10) + " at byte offset " + strconv.FormatInt(e.Offset, 10) + ": "
	} else if e.Offset > 0 {
		s += "at byte offset " + strconv.FormatInt(e.Offset, 10) + ": "
	}
	return s + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }
