package store

import "strings"

// Key joins parts into a record key, escaping each part so that a user name or serial can never
// add a path level, climb out of its folder ("..") or clash with another part.
func Key(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('/')
		}
		escapePart(&b, p)
	}
	return b.String()
}

const hexDigits = "0123456789ABCDEF"

func escapePart(b *strings.Builder, p string) {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
}

// LastPart returns the unescaped last part of a key that Key made.
func LastPart(key string) string {
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		key = key[i+1:]
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		if key[i] == '%' && i+2 < len(key) {
			b.WriteByte(unhex(key[i+1])<<4 | unhex(key[i+2]))
			i += 2
			continue
		}
		b.WriteByte(key[i])
	}
	return b.String()
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}
