package bundle

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Zip record layout (APPNOTE.TXT 4.3).
const (
	zipDirEndLen      = 22 // end of central directory record, without comment
	zipDir64LocLen    = 20 // zip64 end of central directory locator
	zipDir64EndLen    = 56 // zip64 end of central directory record
	zipDirHeaderLen   = 46 // central directory file header, without name, extra, comment
	zipDirEndSig      = 0x06054b50
	zipDir64LocSig    = 0x07064b50
	zipDir64EndSig    = 0x06064b50
	zipDirHeaderSig   = 0x02014b50
	zipSearchShort    = 1024
	zipSearchLong     = 65 * 1024
	zipCountBufferLen = 64 << 10
)

// checkZipEntries counts the central directory records of the zip archive
// of size bytes at r, streaming, and refuses more than max of them with
// ErrTooManyEntries, before archive/zip's NewReader keeps every record in
// memory (about 200 bytes each: a 2 GiB directory of empty names would take
// some 9 GB). It finds the directory exactly as archive/zip does and counts
// every record archive/zip would read (it may count more, never fewer), so
// the bound holds for what NewReader then loads. A directory it cannot
// locate is reported as zip.ErrFormat.
func checkZipEntries(r io.ReaderAt, size int64, max int) error {
	starts, err := zipDirectoryStarts(r, size)
	if err != nil {
		return err
	}
	for _, start := range starts {
		if err := countZipRecords(r, start, size, max); err != nil {
			return err
		}
	}
	return nil
}

// countZipRecords counts the directory records from start on.
func countZipRecords(r io.ReaderAt, start, size int64, max int) error {
	br := bufio.NewReaderSize(io.NewSectionReader(r, start, size-start), zipCountBufferLen)
	var hdr [zipDirHeaderLen]byte
	for n := 0; ; n++ {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return nil //nolint:nilerr // the directory ends here; archive/zip judges a damaged one
		}
		if binary.LittleEndian.Uint32(hdr[0:4]) != zipDirHeaderSig {
			return nil
		}
		skip := int64(binary.LittleEndian.Uint16(hdr[28:30])) + int64(binary.LittleEndian.Uint16(hdr[30:32])) + int64(binary.LittleEndian.Uint16(hdr[32:34]))
		if got, err := br.Discard(int(skip)); err != nil || int64(got) != skip {
			return nil //nolint:nilerr // the directory ends here; archive/zip judges a damaged one
		}
		if n+1 > max {
			return entryErr(fmt.Sprintf("zip directory record %d", n+1), ErrTooManyEntries, "more than %d entries", max)
		}
	}
}

// zipDirectoryStarts is where archive/zip may start reading the central
// directory: the end record's offset plus the base offset it computes, and,
// when that base is positive, also the offset with base 0 (archive/zip
// takes base 0 when a directory header reads there without error; rather
// than repeat every check it makes on a header, both are counted).
func zipDirectoryStarts(r io.ReaderAt, size int64) ([]int64, error) {
	var buf []byte
	var endOffset int64
	found := false
	for _, bLen := range []int64{zipSearchShort, zipSearchLong} {
		bLen = min(bLen, size)
		buf = make([]byte, bLen)
		if _, err := r.ReadAt(buf, size-bLen); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if p := findZipDirEnd(buf); p >= 0 {
			buf, endOffset, found = buf[p:], size-bLen+int64(p), true
			break
		}
		if bLen == size {
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: no end of central directory record", zip.ErrFormat)
	}
	records := uint64(binary.LittleEndian.Uint16(buf[10:12]))
	dirSize := uint64(binary.LittleEndian.Uint32(buf[12:16]))
	dirOffset := uint64(binary.LittleEndian.Uint32(buf[16:20]))
	if records == 0xffff || dirSize == 0xffff || dirOffset == 0xffffffff {
		if p, ok, err := findZip64End(r, endOffset); err != nil {
			return nil, err
		} else if ok {
			endOffset = p
			b := make([]byte, zipDir64EndLen)
			if _, err := r.ReadAt(b, p); err != nil {
				return nil, err
			}
			if binary.LittleEndian.Uint32(b[0:4]) != zipDir64EndSig {
				return nil, zip.ErrFormat
			}
			dirSize = binary.LittleEndian.Uint64(b[40:48])
			dirOffset = binary.LittleEndian.Uint64(b[48:56])
		}
	}
	const maxInt64 = uint64(1<<63 - 1)
	if dirSize > maxInt64 || dirOffset > maxInt64 {
		return nil, zip.ErrFormat
	}
	base := endOffset - int64(dirSize) - int64(dirOffset)
	if o := base + int64(dirOffset); o < 0 || o >= size {
		return nil, zip.ErrFormat
	}
	starts := []int64{base + int64(dirOffset)}
	if base > 0 {
		starts = append(starts, int64(dirOffset))
	}
	return starts, nil
}

// findZipDirEnd is archive/zip's search for the end record in b.
func findZipDirEnd(b []byte) int {
	for i := len(b) - zipDirEndLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(b[i:i+4]) == zipDirEndSig {
			n := int(binary.LittleEndian.Uint16(b[i+zipDirEndLen-2:]))
			if n+zipDirEndLen+i > len(b) {
				return -1
			}
			return i
		}
	}
	return -1
}

// findZip64End reads the zip64 locator before the end record at endOffset.
func findZip64End(r io.ReaderAt, endOffset int64) (int64, bool, error) {
	loc := endOffset - zipDir64LocLen
	if loc < 0 {
		return 0, false, nil
	}
	b := make([]byte, zipDir64LocLen)
	if _, err := r.ReadAt(b, loc); err != nil {
		return 0, false, err
	}
	if binary.LittleEndian.Uint32(b[0:4]) != zipDir64LocSig || binary.LittleEndian.Uint32(b[4:8]) != 0 || binary.LittleEndian.Uint32(b[16:20]) != 1 {
		return 0, false, nil
	}
	return int64(binary.LittleEndian.Uint64(b[8:16])), true, nil
}
