package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Format is an archive format Unpack understands.
type Format int

// Formats. Unknown is the zero value.
const (
	Unknown Format = iota
	Tar
	TarGzip
	Zip
)

func (f Format) String() string {
	switch f {
	case Tar:
		return "tar"
	case TarGzip:
		return "tar.gz"
	case Zip:
		return "zip"
	}
	return "unknown"
}

// HeaderSize is how many leading bytes Detect needs to recognise every
// format (a tar header block).
const HeaderSize = 512

// Detect recognises a format from the first bytes of an archive (up to
// HeaderSize): gzip by 1f 8b, zip by "PK\x03\x04" (or "PK\x05\x06" for an
// empty archive), tar by "ustar" at offset 257 or, for an old-style v7
// header, a valid header checksum.
func Detect(head []byte) Format {
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return TarGzip
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return Zip
	case len(head) >= 262 && bytes.Equal(head[257:262], []byte("ustar")):
		return Tar
	case len(head) >= HeaderSize && validTarChecksum(head[:HeaderSize]):
		return Tar
	}
	return Unknown
}

// validTarChecksum checks the checksum field of a v7 tar header block.
func validTarChecksum(b []byte) bool {
	field := bytes.TrimRight(bytes.TrimLeft(b[148:156], " \x00"), " \x00")
	if len(field) == 0 {
		return false
	}
	var want int64
	for _, c := range field {
		if c < '0' || c > '7' {
			return false
		}
		want = want*8 + int64(c-'0')
	}
	var sum int64
	for i, c := range b {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	return sum == want
}

// DetectReaderAt reads the head of r to detect its format.
func DetectReaderAt(r io.ReaderAt) (Format, error) {
	head := make([]byte, HeaderSize)
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return Unknown, fmt.Errorf("detect bundle format: %w", err)
	}
	return Detect(head[:n]), nil
}
