package audit

import (
	"encoding/hex"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends r's JSON form to dst: byte for byte what encoding/json's Marshal writes
// for it, without reflection and with no allocation beyond dst's growth. The state stores every
// record in this form on the write path (state.Tx.AppendAudit); TestAppendJSONIsMarshal and
// FuzzAppendJSON hold it to Marshal. r must be within years 0-9999 (Bound's records are), as
// Marshal requires.
func AppendJSON(dst []byte, r Record) []byte {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, r.Seq, 10)
	dst = append(dst, `,"time":"`...)
	dst = r.Time.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","principal":{"kind":`...)
	dst = appendJSONString(dst, string(r.Principal.Kind))
	if r.Principal.ID != "" {
		dst = append(dst, `,"id":`...)
		dst = appendJSONString(dst, r.Principal.ID)
	}
	if r.Principal.Name != "" {
		dst = append(dst, `,"name":`...)
		dst = appendJSONString(dst, r.Principal.Name)
	}
	dst = append(dst, `},"action":`...)
	dst = appendJSONString(dst, r.Action)
	for _, f := range [...]struct{ key, v string }{{`,"resource":`, r.Resource}, {`,"source":`, r.Source}, {`,"request_id":`, r.RequestID}} {
		if f.v != "" {
			dst = append(dst, f.key...)
			dst = appendJSONString(dst, f.v)
		}
	}
	dst = append(dst, `,"outcome":`...)
	dst = appendJSONString(dst, string(r.Outcome))
	if r.ErrorCode != "" {
		dst = append(dst, `,"error_code":`...)
		dst = appendJSONString(dst, r.ErrorCode)
	}
	if r.Detail != "" {
		dst = append(dst, `,"detail":`...)
		dst = appendJSONString(dst, r.Detail)
	}
	dst = append(dst, `,"prev":"`...)
	dst = hex.AppendEncode(dst, r.Prev[:])
	dst = append(dst, `","hash":"`...)
	dst = hex.AppendEncode(dst, r.Hash[:])
	return append(dst, `"}`...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does by default (HTML-safe): '"' and '\\' and the
// control characters escaped, '<', '>' and '&' as \u003c, \u003e, \u0026, invalid UTF-8 as
// \ufffd, U+2028 and U+2029 as \u2028 and \u2029.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
