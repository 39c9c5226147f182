// Package media is the one list of content types Parley accepts for files and how each is
// recognised from its first bytes. The files function checks declared types against it at presign
// time; the upload function checks the uploaded bytes against the declared type. Both must agree,
// so the knowledge lives here and nowhere else.
package media

import (
	"bytes"
	"mime"
	"net/http"
	"strings"
)

// SniffLen is how many leading bytes Matches needs at most (http.DetectContentType reads 512).
const SniffLen = 512

// matcher reports whether the first bytes of a file look like one format.
type matcher func(b []byte) bool

// allowed maps each canonical type to the formats its bytes may be in. Several formats per type where
// clients label one thing in several ways (an .m4a declared as audio/aac, a .mov that is ftyp-based).
var allowed = map[string][]matcher{
	"image/jpeg": {prefix("\xFF\xD8\xFF")},
	"image/png":  {prefix("\x89PNG\r\n\x1a\n")},
	"image/gif":  {prefix("GIF87a"), prefix("GIF89a")},
	"image/webp": {riff("WEBP")},

	"audio/mpeg": {prefix("ID3"), mp3Frame},
	"audio/ogg":  {prefix("OggS")},
	"audio/wav":  {riff("WAVE")},
	"audio/aac":  {adts, prefix("ID3"), ftyp},
	"audio/mp4":  {ftyp},
	"audio/webm": {webm},

	"video/mp4":       {ftyp},
	"video/webm":      {webm},
	"video/quicktime": {ftyp, qtAtom},

	"application/pdf": {prefix("%PDF-")},
	"text/plain":      {text},
	"application/zip": {zip},
	// Office: the legacy binary formats are OLE2 compound files, the XML ones (OOXML, ODF) zips.
	"application/msword":            {ole2},
	"application/vnd.ms-excel":      {ole2},
	"application/vnd.ms-powerpoint": {ole2},
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   {zip},
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         {zip},
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": {zip},
	"application/vnd.oasis.opendocument.text":                                   {zip},
	"application/vnd.oasis.opendocument.spreadsheet":                            {zip},
	"application/vnd.oasis.opendocument.presentation":                           {zip},
}

// aliases are spellings clients send for a canonical type.
var aliases = map[string]string{
	"image/jpg":                    "image/jpeg",
	"image/pjpeg":                  "image/jpeg",
	"audio/mp3":                    "audio/mpeg",
	"audio/x-wav":                  "audio/wav",
	"audio/wave":                   "audio/wav",
	"audio/vnd.wave":               "audio/wav",
	"audio/x-aac":                  "audio/aac",
	"audio/x-m4a":                  "audio/mp4",
	"audio/m4a":                    "audio/mp4",
	"application/x-zip-compressed": "application/zip",
}

// Canonical returns the canonical form of a declared content type (lower case, parameters dropped,
// aliases resolved) and whether Parley accepts it. The canonical form is what is stored, signed into
// the upload URL and served back on download.
func Canonical(contentType string) (string, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", false
	}
	if a, ok := aliases[mt]; ok {
		mt = a
	}
	_, ok := allowed[mt]
	return mt, ok
}

// Matches reports whether head (the first bytes of a file, up to SniffLen) is in a format allowed
// for the canonical type ct.
func Matches(ct string, head []byte) bool {
	for _, m := range allowed[ct] {
		if m(head) {
			return true
		}
	}
	return false
}

// Thumbnailable reports whether the upload function makes thumbnails of ct.
func Thumbnailable(ct string) bool {
	switch ct {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
		return true
	}
	return false
}

func prefix(p string) matcher {
	return func(b []byte) bool { return bytes.HasPrefix(b, []byte(p)) }
}

// riff matches a RIFF container of the given form type (WEBP, WAVE).
func riff(form string) matcher {
	return func(b []byte) bool {
		return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == form
	}
}

// ftyp matches an ISO base media file (MP4, M4A, and modern QuickTime): a first box of type ftyp.
func ftyp(b []byte) bool { return len(b) >= 12 && string(b[4:8]) == "ftyp" }

// qtAtom matches classic QuickTime files, which may start with another top-level atom than ftyp.
func qtAtom(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	switch string(b[4:8]) {
	case "moov", "mdat", "wide", "free", "skip", "pnot":
		return true
	}
	return false
}

// mp3Frame matches an MPEG audio frame header with no ID3 tag: 11 sync bits, a valid version and a
// layer that is not the reserved 00 (which is what AAC's ADTS header has there).
func mp3Frame(b []byte) bool {
	return len(b) >= 3 && b[0] == 0xFF && b[1]&0xE0 == 0xE0 && (b[1]>>3)&3 != 1 && (b[1]>>1)&3 != 0 &&
		b[2]>>4 != 0xF // bitrate index 1111 is invalid
}

// adts matches an AAC ADTS frame header: 12 sync bits and layer 00.
func adts(b []byte) bool { return len(b) >= 2 && b[0] == 0xFF && b[1]&0xF6 == 0xF0 }

// webm matches an EBML header whose DocType is webm (Matroska proper says "matroska").
func webm(b []byte) bool {
	if !bytes.HasPrefix(b, []byte("\x1A\x45\xDF\xA3")) {
		return false
	}
	return bytes.Contains(b[:min(len(b), 64)], []byte("webm"))
}

func zip(b []byte) bool {
	return bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06"))
}

func ole2(b []byte) bool { return bytes.HasPrefix(b, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")) }

// text uses the standard library's sniffer: it answers text/plain only when the bytes hold no binary
// control characters (and handles UTF-8/UTF-16 byte order marks). HTML or XML that a client calls
// text/plain is accepted: it is stored and served as text/plain, which browsers do not render.
func text(b []byte) bool { return strings.HasPrefix(http.DetectContentType(b), "text/") }
